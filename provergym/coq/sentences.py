"""Split Coq source text into sentences, the way Coq 8.16's lexer and parser do.

A sentence is what coqidetop's ``Add`` takes and what ``coqc -time`` reports as one
``Chars a - b`` range:

- an ordinary command or tactic, ending with a ``.`` (or ``...``) followed by a blank or
  the end of the text. A dot glued to something else is part of a name (``Nat.add``), a
  projection (``x.(p)``), a decimal or a notation (``..``), so it does not end anything;
- a bullet: a run of one of ``-`` ``+`` ``*`` (``--``, ``***``, ...), but only where a
  sentence may start: Coq's lexer reads bullets only "between commands";
- ``{`` or ``}`` where a sentence may start;
- a goal selector followed by ``{``: ``2:{``, ``1-3, 5:{``, ``[g]:{``, ``all:{``, ``!:{``.
  (``all: tac.`` is an ordinary sentence: the selector is part of it.)

Comments nest, and a ``"`` inside a comment opens a string that must close, so ``*)``
inside such a string does not end the comment. Strings escape ``"`` by doubling it.

Offsets are Python character offsets (``coqc`` and coqidetop count UTF-8 bytes; see
:func:`byte_offsets_to_chars`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "Sentence",
    "SentenceError",
    "byte_offsets_to_chars",
    "line_col",
    "split_sentences",
    "without_comments",
]

_BLANKS = " \t\n\r"
# The characters that can change the scanner's state inside a sentence.
_INTERESTING = re.compile(r'[".]|\(\*')
_NOT_BLANK = re.compile(r"[^ \t\n\r]")
# Selector pieces: a number range (``2`` or ``2-4``), a bracketed goal name, ``all``, ``!``.
_NUMBER = re.compile(r"[0-9]+")
_IDENT = re.compile(r"[^\W0-9][\w']*")


@dataclass(frozen=True)
class Sentence:
    """One sentence: ``text`` (terminator included, no leading blanks or comments) is
    ``source[start:end]``."""

    text: str
    start: int
    end: int

    @property
    def is_bullet(self) -> bool:
        return self.text[0] in "-+*" and self.text == self.text[0] * len(self.text)

    @property
    def is_brace(self) -> bool:
        """``{``, ``}`` or a selector opening a subproof (``2:{``)."""
        return self.text == "}" or self.text.endswith("{")


class SentenceError(ValueError):
    """The text cannot be split: an unterminated comment, string or sentence."""

    def __init__(self, message: str, offset: int, line: int, column: int) -> None:
        super().__init__(f"line {line}, column {column}: {message}")
        self.message = message
        self.offset = offset
        self.line = line  # 1-based
        self.column = column  # 1-based, in characters


def line_col(text: str, offset: int) -> tuple[int, int]:
    """The 1-based line and column of a character offset."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def _error(text: str, message: str, offset: int) -> SentenceError:
    line, column = line_col(text, offset)
    return SentenceError(message, offset, line, column)


def byte_offsets_to_chars(text: str) -> list[int]:
    """A table from UTF-8 byte offset to character offset (for ``coqc``/coqidetop
    locations). Offsets inside a multi-byte character map to that character."""
    table: list[int] = []
    for index, char in enumerate(text):
        table.extend([index] * len(char.encode("utf-8")))
    table.append(len(text))
    return table


def _skip_string(text: str, start: int) -> int:
    """``text[start]`` is ``"``; return the offset just after the closing quote."""
    position = start + 1
    while True:
        close = text.find('"', position)
        if close < 0:
            raise _error(text, "unterminated string", start)
        if text.startswith('"', close + 1):  # "" is an escaped quote
            position = close + 2
            continue
        return close + 1


def _skip_comment(text: str, start: int) -> int:
    """``text[start:start+2]`` is ``(*``; return the offset just after its ``*)``."""
    depth = 1
    position = start + 2
    tokens = re.compile(r'\(\*|\*\)|"')
    while depth:
        match = tokens.search(text, position)
        if match is None:
            raise _error(text, "unterminated comment", start)
        token = match.group()
        if token == '"':
            position = _skip_string(text, match.start())
            continue
        depth += 1 if token == "(*" else -1
        position = match.end()
    return position


def without_comments(text: str) -> str:
    """``text`` with every comment (nested, with strings inside) replaced by one blank;
    strings are kept as they are, so ``"(*"`` stays. Raises SentenceError if a comment or
    string does not close."""
    pieces: list[str] = []
    position = 0
    tokens = re.compile(r'\(\*|"')
    while True:
        match = tokens.search(text, position)
        if match is None:
            pieces.append(text[position:])
            return "".join(pieces)
        if match.group() == '"':
            end = _skip_string(text, match.start())
            pieces.append(text[position:end])
        else:
            end = _skip_comment(text, match.start())
            pieces.append(text[position:match.start()] + " ")
        position = end


def _skip_blanks(text: str, position: int) -> int:
    """Skip blanks and comments; return the offset of the next token (or ``len(text)``)."""
    length = len(text)
    while True:
        match = _NOT_BLANK.search(text, position)
        if match is None:
            return length
        position = match.start()
        if text.startswith("(*", position):
            position = _skip_comment(text, position)
            continue
        return position


def _selector_brace_end(text: str, start: int) -> int | None:
    """If a goal selector followed by ``:`` and ``{`` starts at ``start``, the offset after
    the ``{``; else None. Blanks and comments may separate the tokens, as in Coq."""

    def expect(pattern: re.Pattern[str] | str, position: int) -> int | None:
        position = _skip_blanks(text, position)
        if isinstance(pattern, str):
            return position + len(pattern) if text.startswith(pattern, position) else None
        match = pattern.match(text, position)
        return match.end() if match else None

    position: int | None
    if text.startswith("!", start):
        position = start + 1
    elif text.startswith("[", start):
        position = expect(_IDENT, start + 1)
        position = position and expect("]", position)
    elif _NUMBER.match(text, start):
        position = start
        while True:  # a comma-separated list of N or N-M
            position = expect(_NUMBER, position)
            if position is None:
                return None
            after_dash = expect("-", position)
            if after_dash is not None:
                position = expect(_NUMBER, after_dash)
                if position is None:
                    return None
            after_comma = expect(",", position)
            if after_comma is None:
                break
            position = after_comma
    else:
        match = _IDENT.match(text, start)
        if not match or match.group() != "all":
            return None
        position = match.end()
    position = position and expect(":", position)
    # ``:=`` or ``::`` would be other tokens; neither can follow a selector anyway.
    position = position and expect("{", position)
    return position or None


def _sentence_end(text: str, start: int) -> int | None:
    """The offset just after the terminator of the ordinary sentence at ``start``, or None
    if the text ends first."""
    length = len(text)
    position = start
    while True:
        match = _INTERESTING.search(text, position)
        if match is None:
            return None
        token = match.group()
        if token == '"':
            position = _skip_string(text, match.start())
        elif token == "(*":
            position = _skip_comment(text, match.start())
        else:  # a run of dots
            run_end = match.start() + 1
            while run_end < length and text[run_end] == ".":
                run_end += 1
            followed_by_blank = run_end == length or text[run_end] in _BLANKS
            # ``.`` and ``...`` end a sentence; ``..`` is the notation keyword.
            if followed_by_blank and run_end - match.start() != 2:
                return run_end
            position = run_end


def split_sentences(text: str, *, allow_partial: bool = False) -> list[Sentence]:
    """Split ``text`` into its sentences, in order.

    Raises :class:`SentenceError` (with line and column) on an unterminated comment or
    string, and on trailing text without a terminator unless ``allow_partial``, in which
    case that trailing fragment is returned as a last sentence.
    """
    sentences: list[Sentence] = []
    length = len(text)
    position = 0
    # Coq reads bullets only "between commands": at the start, after a terminator, a
    # bullet, or a lone brace.
    between_commands = True
    while True:
        start = _skip_blanks(text, position)
        if start >= length:
            return sentences
        char = text[start]
        if between_commands and char in "-+*":
            end = start + 1
            while end < length and text[end] == char:
                end += 1
        elif char in "{}":
            # Between commands these are keywords by themselves; right after ``2:{`` the
            # lexer reads them as ordinary symbols, which the parser still takes as ``{``/``}``.
            end = start + 1
        else:
            selector_end = _selector_brace_end(text, start)
            if selector_end is not None:
                end = selector_end
                sentences.append(Sentence(text[start:end], start, end))
                # The lexer read that ``{`` as an ordinary token, so a bullet right after
                # it is not a bullet (Coq then rejects it; we keep its lexing).
                position, between_commands = end, False
                continue
            sentence_end = _sentence_end(text, start)
            if sentence_end is None:
                if not allow_partial:
                    raise _error(text, "sentence without a terminating '.'", start)
                fragment = text[start:].rstrip(_BLANKS)
                sentences.append(Sentence(fragment, start, start + len(fragment)))
                return sentences
            end = sentence_end
        sentences.append(Sentence(text[start:end], start, end))
        position, between_commands = end, True
