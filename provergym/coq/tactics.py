"""The tactic filter: what an agent may send to Coq inside a proof.

Soundness rests here and on ``Qed``: only one sentence, and only a tactic. Vernacular
commands (they change the global environment, load code, or end the proof by other means)
and tactics that give up on goals are refused before they reach Coq.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from provergym.coq.sentences import SentenceError, split_sentences, without_comments

# Vernacular commands and control prefixes (first word of a sentence). Coq's tactic names
# are lower-case; these are the capitalised words Coq's parser reads as commands.
VERNACULAR = frozenset("""
Abort About Add Admit Admitted Arguments Axiom Axioms Back BackTo Bind Canonical Cd Check
Class Close CoFixpoint CoInductive Coercion Collection Combined Compute Conjecture
Conjectures Constraint Context Corollary Create Cumulative Declare Defined Definition
Delimit Derive Drop Eval Example Existential Existing Export Extract Extraction Fact Fail
Fixpoint Focus From Function Functional Generalizable Global Goal Guarded Hint Hypotheses
Hypothesis Identity Implicit Import Include Inductive Infix Info Inline Instance
Instructions Lemma Let Load Local Locate Ltac Ltac2 Module Monomorphic NonCumulative
Notation Number Obligation Obligations Opaque Open Optimize Parameter Parameters Polymorphic
Prenex Preterm Primitive Print Private Profile Program Proof Property Proposition Pwd Qed
Quit Record Recursive Redirect Register Remark Remove Require Reserved Reset Restart Save
Scheme Search SearchAbout SearchHead SearchPattern SearchRewrite Section Separate Set Show
Solve Strategy String Structure SubClass Succeed Tactic Test Theorem Time Timeout
Transparent Typeclasses Undelimit Undo Unfocus Unfocused Universe Universes Unset Variable
Variables Variant Abbreviation End Next Final Sort Attributes Debug Numeral Grab
Inspect Comments Chapter Validate Enable Disable Equations Reset Restore Write Backtrack
""".split())

# Words that give up on goals, wherever they appear (also inside ``ltac:( ... )``), found
# as Coq's lexer finds identifiers: a numeral is digits and ``_`` (``1_000``), an
# identifier starts with a letter or ``_``; so ``1admit`` and ``1_admit`` are a numeral,
# then ``admit`` (``do 1admit.`` gives the goal up), while ``x1admit`` and ``_admit`` are
# other identifiers.
GIVE_UP_WORDS = frozenset({"admit", "give_up", "Admitted", "Abort", "Admit"})
_TOKEN = re.compile(r"(\d[\d_]*)|([^\W\d][\w']*)")
_FIRST_WORD = re.compile(r"[^\W\d][\w']*")
# A goal selector before a tactic (``1:``, ``2-3, 5:``, ``all:``, ``par:``, ``!:``,
# ``[x]:``): Coq runs what follows it, command or tactic, so the first-word check looks
# past it.
_SELECTOR = re.compile(
    r"\s*(?:all|par|!|\[\s*[^\W\d][\w']*\s*\]|\d+(?:\s*-\s*\d+)?"
    r"(?:\s*,\s*\d+(?:\s*-\s*\d+)?)*)\s*:(?![=>])\s*")


@dataclass(frozen=True)
class TacticCheck:
    """The filter's verdict: ``sentence`` is what to send (terminator added), or ``reason``
    says why the text was refused."""

    sentence: str | None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.sentence is not None


def _terminated(text: str) -> str:
    """Add the final ``.`` an agent often leaves out (not after a bullet or a brace)."""
    stripped = text.strip()
    if not stripped or stripped.endswith("."):
        return stripped
    if re.fullmatch(r"([-+*])\1*|[{}]|.*:\s*\{", stripped, re.S):
        return stripped
    return stripped + "."


def _unsendable(text: str) -> str | None:
    """Why ``text`` cannot go to Coq at all: a NUL, or a lone surrogate (not UTF-8)."""
    if "\x00" in text:
        return "refused: NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        return f"refused: not encodable as UTF-8 ({error.reason} at character {error.start})"
    return None


def check_tactic(text: str) -> TacticCheck:
    """Accept exactly one tactic sentence; refuse commands, give-ups and hidden sentences."""
    if not isinstance(text, str):
        return TacticCheck(None, f"refused: a tactic is text, not {type(text).__name__}")
    problem = _unsendable(text)
    if problem:
        return TacticCheck(None, problem)
    candidate = _terminated(text)
    if not candidate:
        return TacticCheck(None, "refused: empty tactic")
    try:
        sentences = split_sentences(candidate)
    except SentenceError as error:
        return TacticCheck(None, f"refused: cannot parse the tactic ({error})")
    if len(sentences) != 1:
        return TacticCheck(None, f"refused: {len(sentences)} sentences, expected one tactic")
    sentence = sentences[0]
    if candidate[sentence.end:].strip() or without_comments(candidate[:sentence.start]).strip():
        return TacticCheck(None, "refused: text outside the tactic sentence")
    body = sentence.text
    plain = without_comments(body)  # the sentence splitter already read it: it closes
    selector = _SELECTOR.match(plain)
    command = (plain[selector.end():] if selector else plain).lstrip()
    if command.startswith("#"):
        return TacticCheck(None, "refused: attributes are vernacular")
    first = _FIRST_WORD.match(command)
    if first and first.group(0) in VERNACULAR:
        return TacticCheck(None, f"refused: '{first.group(0)}' is a vernacular command, "
                                 "not a tactic")
    give_up = next((token.group(2) for token in _TOKEN.finditer(plain)
                    if token.group(2) in GIVE_UP_WORDS), None)
    if give_up:
        return TacticCheck(None, f"refused: '{give_up}' gives up on a goal")
    return TacticCheck(body)


# Read-only commands that CoqFile.query runs outside the proof (never through step).
QUERY_COMMANDS = frozenset("""
About Check Compute Eval Locate Print Search SearchPattern SearchRewrite
""".split())


def check_query(text: str) -> TacticCheck:
    """Accept exactly one read-only command whose first word is in QUERY_COMMANDS."""
    if not isinstance(text, str):
        return TacticCheck(None, f"refused: a query is text, not {type(text).__name__}")
    problem = _unsendable(text)
    if problem:
        return TacticCheck(None, problem)
    candidate = text.strip()
    if candidate and not candidate.endswith("."):
        candidate += "."
    try:
        sentences = split_sentences(candidate)
    except SentenceError as error:
        return TacticCheck(None, f"refused: cannot parse the query ({error})")
    if len(sentences) != 1:
        return TacticCheck(None, f"refused: {len(sentences)} sentences, expected one query")
    sentence = sentences[0]
    if without_comments(candidate[:sentence.start]).strip():
        return TacticCheck(None, "refused: text outside the query")
    first = _FIRST_WORD.match(without_comments(sentence.text).lstrip())
    if not first or first.group(0) not in QUERY_COMMANDS:
        return TacticCheck(None, "refused: a query starts with one of "
                                 + ", ".join(sorted(QUERY_COMMANDS)))
    return TacticCheck(sentence.text)


def is_bullet_or_brace(sentence: str) -> bool:
    """Bullets and braces cannot take a ``Timeout`` prefix (nor need one)."""
    return bool(re.fullmatch(r"([-+*])\1*|[{}]|.*:\s*\{", sentence.strip(), re.S))


def with_timeout(sentence: str, seconds: float) -> str:
    """Coq's own ``Timeout``, the ladder's first rung."""
    if is_bullet_or_brace(sentence):
        return sentence
    return f"Timeout {max(1, int(round(seconds)))} {sentence}"
