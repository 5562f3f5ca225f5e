"""Property tests of the Coq sentence splitter and the tactic filter (pure Python: no Coq
is started). Random text is built from pieces that matter to Coq's lexer: comments,
strings, dots, goal selectors, bullets, braces, control characters and vernacular words.

- ``split_sentences`` returns sentences that slice the source, with only blanks and
  comments between them, or raises ``SentenceError``; nothing else.
- ``check_tactic`` never raises; what it accepts is one sentence taken from the text, with
  no give-up word outside strings and comments, whose first word (after one goal selector)
  is not vernacular. ``check_query`` accepts only one read-only command.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from provergym.coq.sentences import (
    Sentence,
    SentenceError,
    line_col,
    split_sentences,
    without_comments,
)
from provergym.coq.tactics import QUERY_COMMANDS, VERNACULAR, check_query, check_tactic

BLANKS = " \t\n\r"  # Coq's blanks (coqc 8.16 rejects \x0b, \x0c and U+00A0 between sentences)
GIVE_UP_WORDS = frozenset({"admit", "give_up", "Admitted", "Abort"})

PIECES = ["(*", "*)", '"', '""', ".", "..", "...", ". ", ".\n", " ", " ", "\n", "\t", "\r",
          "1:", "2-3:", "1, 3:", "all:", "par:", "!:", "[x]:", "[ x ]", ":", ":=", "-", "+",
          "*", "--", "**", "{", "}", "x", "idtac", "auto", "exact I", "admit", "give_up",
          "Admitted", "Abort", "Check", "Axiom", "Qed", "Proof", "Print", "Time", "Fail",
          "ltac:(", "(", ")", "'", "_", "1", "do 2", "Nat.add", "x.(p)", ";", "|", "#[local]",
          "\x00", "\x0b", "\x0c", "\x1b", "\x7f", "\u00a0", "é", "\u2028", "∀"]
# Mostly well formed: sentences of words, closed comments and strings, then bullets,
# braces and selector braces, glued or separated by blanks.
_comments = st.sampled_from(["", " c ", " . ", ' "*)" ', " (* n. *) ", "*", ")", '""']).map(
    "(*{}*)".format)
_strings = st.sampled_from(["", "x", "(*", ". ", '""', "*)", "admit"]).map('"{}"'.format)
_words = st.one_of(st.sampled_from([p for p in PIECES if p not in ('"', '""', "(*", "*)")]),
                   _comments, _strings)
_sentences = st.builds(lambda words, end: " ".join(words) + end,
                       st.lists(_words, min_size=1, max_size=6),
                       st.sampled_from([".", ".", "...", ". ", ".\n", ".\n", ""]))
_units = st.one_of(_sentences, _comments, st.sampled_from(
    ["-", "+", "*", "--", "{", "}", "1:{", "all: {", "[x]:{", "2 (* c *) : {"]))
structured_text = st.lists(st.tuples(_units, st.sampled_from(["", " ", "\n", "\t", "\r\n"])),
                           max_size=8).map(lambda units: "".join(u + b for u, b in units))
coq_text = st.one_of(structured_text,
                     st.lists(st.sampled_from(PIECES), max_size=30).map("".join),
                     st.text(max_size=60))
query_text = st.one_of(coq_text, st.builds("{} {}".format, st.sampled_from(sorted(QUERY_COMMANDS)),
                                           coq_text))


# -- reference readings, independent of the code under test -----------------------------------
def _without_strings(plain: str) -> str:
    """``plain`` (comments removed) with each string replaced by a blank."""
    return re.sub(r'"(?:[^"]|"")*"', " ", plain)


# Coq's lexer reads left to right: a digit run is a number ("1admit" is 1 and admit, as
# coqc 8.16 confirms: `do 1admit.` gives the goal up), an identifier may be qualified
# (x.admit), and ".admit" after a term is a projection, not the tactic.
_COQ_TOKEN = re.compile(r"\.?[^\W\d][\w']*(?:\.[^\W\d][\w']*)*|\d[\d_]*|\S")
# One goal selector at the start of a sentence (Coq takes one: `1: 2: tac` is a syntax
# error): a list of numbers and ranges, all, par, ! or a goal name in brackets.
_SELECTOR = re.compile(r"\s*(?:all|par|!|\[\s*[^\W\d][\w']*\s*\]"
                       r"|\d+(?:\s*-\s*\d+)?(?:\s*,\s*\d+(?:\s*-\s*\d+)?)*)\s*:(?![=>])")


def give_up_words(plain: str) -> list[tuple[str, int]]:
    """The give-up words of ``plain`` (comments removed) outside strings, with offsets."""
    return [(m.group(), m.start()) for m in _COQ_TOKEN.finditer(_without_strings(plain))
            if m.group() in GIVE_UP_WORDS]


def first_word(plain: str) -> str | None:
    """The first word of a sentence (comments removed), after one goal selector."""
    selector = _SELECTOR.match(plain)
    rest = plain[selector.end():] if selector else plain
    word = re.match(r"\s*([^\W\d][\w']*)", rest)
    return word.group(1) if word else None


# -- the sentence splitter ------------------------------------------------------------------
def assert_sentences_slice(text: str, sentences: list[Sentence], partial: bool) -> None:
    position = 0
    for number, sentence in enumerate(sentences):
        assert text[sentence.start:sentence.end] == sentence.text
        assert sentence.text and sentence.text[0] not in BLANKS
        assert position <= sentence.start
        assert without_comments(text[position:sentence.start]).strip(BLANKS) == ""
        last_fragment = partial and number == len(sentences) - 1
        if not (sentence.is_bullet or sentence.is_brace or last_fragment):
            assert sentence.text.endswith("."), sentence
        position = sentence.end
    assert without_comments(text[position:]).strip(BLANKS) == ""


@given(coq_text)
@example('(* a (* b. *) c. "d *) e." *) Check 1. (* ( * ) *)(**)Check 2.')
@example("- 1:{ - x. } all: admit. [g]:{ ** Nat.add. ... }")
@example('Check "(*". (* "*)" *) x.(p). auto...')
def test_split_sentences_slices_the_source_or_raises_sentence_error(text: str) -> None:
    try:
        sentences = split_sentences(text)
        event(f"{min(len(sentences), 3)}{'+' if len(sentences) > 2 else ''} sentences")
    except SentenceError as error:
        event("SentenceError")
        assert 0 <= error.offset <= len(text)
        assert (error.line, error.column) == line_col(text, error.offset)
        complete = None
    else:
        assert_sentences_slice(text, sentences, partial=False)
        without_comments(text)  # every comment and string closes
        # A sentence is split again into itself (except after a selector brace, where a
        # bullet is read as an ordinary token).
        for before, sentence in zip([None, *sentences], sentences):
            if before is None or not before.text.endswith("{"):
                assert split_sentences(sentence.text) == [
                    Sentence(sentence.text, 0, len(sentence.text))], sentence
        complete = sentences
    try:
        partial = split_sentences(text, allow_partial=True)
    except SentenceError as error:
        assert complete is None and "sentence without" not in error.message
        return
    assert_sentences_slice(text, partial, partial=True)
    if complete is not None:
        assert partial == complete


@given(coq_text)
@example('(* "*)" *) x "(*" y')
@example("((* c *)*)")
def test_without_comments_is_idempotent_or_raises_sentence_error(text: str) -> None:
    try:
        plain = without_comments(text)
    except SentenceError:
        return
    assert without_comments(plain) == plain
    assert len(plain) <= len(text)
    if "(*" not in text:
        assert plain == text


# -- the tactic filter ----------------------------------------------------------------------
@given(coq_text)
@example("1: (* c *) Check nat.")
@example('idtac "admit".')
@example("(* Admitted. *) auto.")
@example("x.admit.")
def test_check_tactic_accepts_only_one_tactic_sentence(text: str) -> None:
    check = check_tactic(text)
    event("accepted" if check.ok else "refused")
    assert check.ok == (check.reason is None)
    if not check.ok:
        assert check.reason.startswith("refused")
        return
    sentence = check.sentence
    assert "\x00" not in sentence
    assert sentence in text or (sentence.endswith(".") and sentence[:-1] in text)
    assert split_sentences(sentence) == [Sentence(sentence, 0, len(sentence))]
    plain = without_comments(sentence)
    assert give_up_words(plain) == [], sentence
    assert first_word(plain) not in VERNACULAR, sentence
    assert check_tactic(sentence).ok  # what it sends, it accepts again


@given(query_text)
@example("Check nat.")
@example("(* c *) Search (_ + _).")
@example("1: Check nat.")
def test_check_query_accepts_only_one_read_only_command(text: str) -> None:
    check = check_query(text)
    event("accepted" if check.ok else "refused")
    if not check.ok:
        assert check.reason.startswith("refused")
        return
    sentence = check.sentence
    assert "\x00" not in sentence
    assert split_sentences(sentence) == [Sentence(sentence, 0, len(sentence))]
    word = re.match(r"\s*([^\W\d][\w']*)", without_comments(sentence))
    assert word and word.group(1) in QUERY_COMMANDS, sentence


# -- constructed: a command after a goal selector, a give-up word in a tactic ----------------
blanks = st.sampled_from(["", " ", "  ", "\n", "\t", " (* c *) ", "(**)",
                          ' (* (* n *) "*)" *) '])
numbers = st.integers(0, 99).map(str)
ranges = st.one_of(numbers, st.builds(lambda a, b1, b2, b: f"{a}{b1}-{b2}{b}",
                                      numbers, blanks, blanks, numbers))
selectors = st.one_of(
    st.sampled_from(["all", "par", "!"]),
    st.builds(lambda b1, name, b2: f"[{b1}{name}{b2}]", blanks,
              st.sampled_from(["x", "H", "goal_1", "x'", "é"]), blanks),
    st.builds(lambda first, rest: first + "".join(rest), ranges,
              st.lists(st.builds(lambda b1, b2, r: f"{b1},{b2}{r}", blanks, blanks, ranges),
                       max_size=3)))


@given(blanks, selectors, blanks, blanks, st.sampled_from(sorted(VERNACULAR)),
       st.sampled_from(["", " nat", " x : True := I", ' "s"', " (* c *) y", "(*c*)"]),
       st.sampled_from(["", ".", " ."]))
@example("", "1", "", " ", "Check", " nat", ".")
@example("", "[x]", " ", "(**)", "Axiom", " x : False", ".")
def test_check_tactic_refuses_a_command_after_a_selector(
        before: str, selector: str, before_colon: str, after_colon: str, command: str,
        arguments: str, end: str) -> None:
    text = f"{before}{selector}{before_colon}:{after_colon}{command}{arguments}{end}"
    check = check_tactic(text)
    assert not check.ok, (text, check)
    assert not check_tactic(f"{before}{command}{arguments}{end}").ok  # and without it


@given(st.sampled_from(["", "idtac; ", "try ", "do 2 ", "exact ltac:(", "1: ", "all: ", "(",
                        "first [ idtac | ", "solve [ ", "(* c *) ", "idtac;\n"]),
       st.sampled_from(sorted(GIVE_UP_WORDS)),
       st.sampled_from(["", ".", ")", " ].", "; auto.", " (* c *)"]))
def test_check_tactic_refuses_a_give_up_word_in_a_tactic(before: str, word: str,
                                                         after: str) -> None:
    text = before + word + after
    assert not check_tactic(text).ok, text


@pytest.mark.parametrize("text", ["do 1admit.", "do 2give_up.", "do 1_admit."])
def test_give_up_word_after_a_number_is_refused(text: str) -> None:
    assert not check_tactic(text).ok
