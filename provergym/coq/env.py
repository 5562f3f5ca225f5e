"""The Coq proof environment: open a lemma in the context of its file, step any state.

``CoqFile(path)`` keeps one coqidetop session with the file loaded as far as needed, so
opening many lemmas of one file does not replay it each time (lemmas opened in file order
cost one pass in all). States are handles on session nodes: any state may be stepped
again, which is Edit_at under the hood. ``step`` returns ``Progress``, ``Proved`` (only
once ``Qed`` is accepted) or ``Rejected`` (Coq's message, or the tactic filter's).
"""

from __future__ import annotations

import itertools
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provergym.api import (
    Goal,
    Hypothesis,
    InitError,
    Progress,
    ProofState,
    Proved,
    Rejected,
    StepResult,
)
from provergym.coq import protocol as P
from provergym.coq.sentences import Sentence, SentenceError, line_col, split_sentences
from provergym.coq.session import CoqSession, Failed, SentenceFailed
from provergym.coq.tactics import check_query, check_tactic, with_timeout

# Commands that open a proof of a named statement.
_STATEMENT = re.compile(
    r"(?:#\[[^\]]*\]\s*)?(?:(?:Local|Global|Polymorphic|Monomorphic|Program|Private)\s+)*"
    r"(?:Theorem|Lemma|Fact|Remark|Corollary|Proposition|Property|Example|Definition|"
    r"Fixpoint|CoFixpoint|Instance|Let)\s+([^\W\d][\w']*)", re.S)
# Commands that open a proof of a statement with no name of its own (``Instance : C.``,
# ``Goal T.``, ``Next Obligation.``): named ``<goal at line N>`` here, as replay and the
# corpora name them.
_ANONYMOUS = re.compile(
    r"(?:#\[[^\]]*\]\s*)?(?:(?:Local|Global|Polymorphic|Monomorphic|Program)\s+)*"
    r"(?:Instance\s*:|Goal\b|Next\s+Obligation\b)", re.S)
_PROOF_HEADER = re.compile(r"Proof(\s+using\b.*|\s+with\b.*)?\.\s*$", re.S)
_PROOF_END = re.compile(r"(Qed|Defined|Admitted|Abort|Save)\b")
_SCOPE_OPEN = re.compile(
    r"(?:(?:Local|Global)\s+)?(Section|Module(?:\s+Type)?)\s+(?:(?:Import|Export)\s+)?"
    r"([^\W\d][\w']*)(?![^.]*:=)", re.S)
_SCOPE_CLOSE = re.compile(r"End\s+([^\W\d][\w']*)\s*\.")


def scope_opening(sentence: str) -> tuple[str, str] | None:
    """``("Section", "S")``, ``("Module", "M")`` or ``("Module Type", "T")`` when ``sentence``
    opens a section or an interactive module (not ``Module M := N.``), else None."""
    match = _SCOPE_OPEN.match(sentence)
    return (" ".join(match.group(1).split()), match.group(2)) if match else None


def scope_closing(sentence: str) -> str | None:
    """The name that ``End name.`` closes, else None."""
    match = _SCOPE_CLOSE.match(sentence)
    return match.group(1) if match else None


def statement_name(sentence: str) -> str | None:
    """The name declared by a statement sentence (``Lemma foo ...`` -> ``foo``)."""
    match = _STATEMENT.match(sentence)
    return match.group(1) if match else None


def anonymous_name(line: int) -> str:
    """The name a statement without one (``Instance : C.``) goes by: its line."""
    return f"<goal at line {line}>"


@dataclass(frozen=True)
class Answer:
    """What a read-only query (``Search``, ``Check``, ...) printed."""

    text: str


def find_coq_args(path: Path) -> tuple[list[str], Path]:
    """``-Q``/``-R``/``-I`` arguments from the nearest ``_CoqProject`` above ``path``, and
    the directory to run Coq in (the project root, else the file's directory)."""
    for directory in [path.parent, *path.parent.parents]:
        project = directory / "_CoqProject"
        if project.is_file():
            words = shlex.split(project.read_text(encoding="utf-8"), comments=True)
            args: list[str] = []
            index = 0
            while index < len(words):
                word = words[index]
                if word in ("-Q", "-R") and index + 2 < len(words) + 1:
                    args += [word, str((directory / words[index + 1]).resolve()),
                             words[index + 2]]
                    index += 3
                elif word == "-I" and index + 1 < len(words):
                    args += [word, str((directory / words[index + 1]).resolve())]
                    index += 2
                elif word == "-arg" and index + 1 < len(words):
                    args += shlex.split(words[index + 1])
                    index += 2
                else:
                    index += 1  # a file name or an option we do not need
            return args, directory
    return [], path.parent


# ---------------------------------------------------------------------------- goals


def _split_top(text: str, separator: str) -> int:
    """Index of the first ``separator`` outside brackets and outside an open binder
    (``fun x : T =>``, ``forall x : T,``), or -1."""
    depth, binders, index = 0, 0, 0
    while index < len(text):
        char = text[index]
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0:
            if text.startswith(separator, index) and binders == 0:
                return index
            word = re.match(r"(fun|forall|exists2?|let|fix|cofix)\b", text[index:])
            if word and (index == 0 or not (text[index - 1].isalnum() or text[index - 1] in "_'")):
                binders += 1
                index += len(word.group(0))
                continue
            if binders and (text.startswith("=>", index) or char == ","
                            or text.startswith(" in ", index)):
                binders -= 1
        index += 1
    return -1


def parse_hypotheses(printed: str) -> list[Hypothesis]:
    """``n, m : nat`` -> two hypotheses; ``x := v : T`` -> one with a body."""
    names_end = _split_top(printed, " : ")
    let_at = _split_top(printed, " := ")
    if let_at != -1 and (names_end == -1 or let_at < names_end):
        name = printed[:let_at].strip()
        rest = printed[let_at + 4:]
        type_at = _split_top(rest, " : ")
        if type_at == -1:
            return [Hypothesis(name, "", rest.strip())]
        return [Hypothesis(name, rest[type_at + 3:].strip(), rest[:type_at].strip())]
    if names_end == -1:
        return [Hypothesis(printed.strip(), "")]
    type_text = printed[names_end + 3:].strip()
    return [Hypothesis(name.strip(), type_text) for name in printed[:names_end].split(",")]


@dataclass(frozen=True)
class CoqGoalData:
    """Coq-specific structure of a goal: the ``Set Printing All`` printing and its AST
    (parsed lazily; a parse failure is kept as ``ast_error``, never dropped)."""

    goal_id: str
    printing_all: Goal | None = None
    unfocused: bool = False  # the goal is in the background: a bullet or ``}`` comes next
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    def _parse(self) -> None:
        if "ast" in self._cache or self.printing_all is None:
            return
        try:
            from provergym.coq.terms import parse_term
        except ImportError as error:  # the term grammar is another module's job
            self._cache.update(ast=None, error=f"no term parser: {error}")
            return
        try:
            hyps = tuple((h.name, parse_term(h.type),
                          parse_term(h.body) if h.body is not None else None)
                         for h in self.printing_all.hypotheses)
            self._cache.update(ast=(hyps, parse_term(self.printing_all.conclusion)), error=None)
        except Exception as error:  # noqa: BLE001 - counted by the caller, never dropped
            self._cache.update(ast=None, error=f"{type(error).__name__}: {error}")

    @property
    def ast(self) -> Any:
        """``(((name, type_ast, body_ast | None), ...), conclusion_ast)`` or None."""
        self._parse()
        return self._cache.get("ast")

    @property
    def ast_error(self) -> str | None:
        self._parse()
        return self._cache.get("error")


def make_goal(raw: P.RawGoal, raw_all: P.RawGoal | None = None, unfocused: bool = False) -> Goal:
    hypotheses = tuple(h for printed in raw.hypotheses for h in parse_hypotheses(printed))
    printing_all = None
    if raw_all is not None:
        printing_all = Goal(raw_all.conclusion, tuple(
            h for printed in raw_all.hypotheses for h in parse_hypotheses(printed)))
    return Goal(raw.conclusion, hypotheses, CoqGoalData(raw.goal_id, printing_all, unfocused))


def make_goals(reply: P.GoalsReply, reply_all: P.GoalsReply | None = None) -> tuple[Goal, ...]:
    """Focused goals, or if none, the unfocused ones (so a state is "solved" only when
    nothing at all is left)."""
    unfocused = not reply.foreground
    raw = reply.foreground or reply.unfocused
    raw_all: Sequence[P.RawGoal | None] = [None] * len(raw)
    if reply_all is not None:
        candidate = reply_all.foreground or reply_all.unfocused
        if len(candidate) == len(raw):
            raw_all = candidate
    return tuple(make_goal(r, a, unfocused) for r, a in zip(raw, raw_all))


# ---------------------------------------------------------------------------- the file


@dataclass(frozen=True)
class CoqLemma:
    """A statement of the file that opens a proof: where it is and its original proof."""

    name: str
    index: int  # of the statement sentence
    statement: str
    proof_header: str | None  # ``Proof.`` / ``Proof using x.`` when present
    body: tuple[str, ...]  # the original proof's sentences, ending included
    line: int


@dataclass
class _Opened:
    lemma: CoqLemma
    node: int


_TOKENS = itertools.count(1)


class CoqFile:
    """The environment over one ``.v`` file. A ``Backend``: ``open(lemma)``, ``step``.

    A state's ``key`` is ``(environment token, session node)``: equal keys are the same
    state, and a state from another environment is refused rather than misread."""

    name = "coq"

    def __init__(self, path: str | Path, *, coq_args: Sequence[str] = (),
                 step_timeout: float = 5.0, qed_timeout: float = 60.0,
                 printing_all: bool = False, load_timeout: float = 600.0) -> None:
        self.path = Path(path).resolve()
        if not self.path.is_file():
            raise InitError(f"{path}: no such file")
        try:
            self.text = self.path.read_text(encoding="utf-8")
            self.sentences: list[Sentence] = split_sentences(self.text)
        except UnicodeDecodeError as error:
            raise InitError(f"{path}: not a UTF-8 text file (byte {error.start}: "
                            f"{error.reason})") from error
        except (OSError, SentenceError) as error:
            raise InitError(f"{path}: {error}") from error
        project_args, self.cwd = find_coq_args(self.path)
        self.coq_args = [*project_args, *coq_args]
        self.step_timeout = step_timeout
        self.qed_timeout = qed_timeout
        self.printing_all = printing_all
        self.lemmas = self._find_lemmas()
        self.session = CoqSession(self.coq_args, cwd=str(self.cwd), reply_timeout=load_timeout)
        self._file_nodes: list[int] = []  # node after each loaded sentence of the file
        self._opened: dict[int, _Opened] = {}  # opening node -> lemma
        self._tactic: dict[int, tuple[int, str]] = {}  # node -> (parent node, raw tactic)
        self._lemma_of: dict[int, _Opened] = {}
        self._token = next(_TOKENS)

    def _find_lemmas(self) -> dict[str, CoqLemma]:
        lemmas: dict[str, CoqLemma] = {}
        texts = [s.text for s in self.sentences]
        for index, text in enumerate(texts):
            line, _ = line_col(self.text, self.sentences[index].start)
            name = statement_name(text)
            if name is None and _ANONYMOUS.match(text):
                name = anonymous_name(line)
            # ``Definition x := 3.`` has a body; ``Lemma x : let y := 3 in y = 3.`` does not.
            if name is None or name in lemmas or _split_top(text, ":=") != -1:
                continue
            header = None
            start = index + 1
            if start < len(texts) and _PROOF_HEADER.match(texts[start]):
                header, start = texts[start], start + 1
            end = start
            while end < len(texts) and not _PROOF_END.match(texts[end]):
                if statement_name(texts[end]) and end > start:
                    break  # not a proof after all (e.g. a Definition with a body)
                end += 1
            if end >= len(texts) or not _PROOF_END.match(texts[end]):
                continue
            lemmas[name] = CoqLemma(name, index, text, header, tuple(texts[start:end + 1]), line)
        return lemmas

    # ------------------------------------------------------------------ loading

    def _load(self, count: int) -> int:
        """The node after the file's first ``count`` sentences (loading what is missing)."""
        if count == 0:
            return CoqSession.ROOT
        if count > len(self._file_nodes):
            start = len(self._file_nodes)
            parent = self._file_nodes[-1] if self._file_nodes else CoqSession.ROOT
            texts = [s.text for s in self.sentences[start:count]]
            try:
                last = self.session.run_many(parent, texts)
            except SentenceFailed as error:
                # The file's nodes form a chain from the root: depth - 1 is the index.
                index = min(max(len(self.session.path(error.node)) - 2, start), count - 1)
                line, column = line_col(self.text, self.sentences[index].start)
                from provergym.coq.build import missing_library_hint

                raise InitError(f"{self.path}:{line}:{column}: Coq refused the file's sentence "
                                f"{self.sentences[index].text[:80]!r}: {error.message}"
                                f"{missing_library_hint(error.message, self.path)}") from error
            nodes = self.session.path(last)[-(count - start):]
            self._file_nodes.extend(nodes)
        return self._file_nodes[count - 1]

    def open(self, theorem: str, preamble: Sequence[str] = ()) -> ProofState:
        """Load the file up to ``theorem``'s statement (and its ``Proof`` header).
        ``preamble`` sentences run just before the statement (``From Hammer Require ...``)."""
        lemma = self.lemmas.get(theorem)
        if lemma is None:
            known = ", ".join(list(self.lemmas)[:10])
            raise InitError(f"{self.path}: no lemma named {theorem!r} with a proof "
                            f"(known: {known}{'...' if len(self.lemmas) > 10 else ''})")
        opening = [lemma.statement] + ([lemma.proof_header] if lemma.proof_header else [])
        if preamble:
            try:
                node = self.session.run_many(self._load(lemma.index), [*preamble, *opening])
            except SentenceFailed as error:
                raise InitError(f"{self.path}:{lemma.line}: cannot open {theorem} after "
                                f"{list(preamble)}: {error.message}") from error
        else:
            node = self._load(lemma.index + len(opening))
        reply = self.session.goals(node)
        if reply is None:
            raise InitError(f"{self.path}:{lemma.line}: {theorem} does not open a proof")
        opened = _Opened(lemma, node)
        self._opened[node] = opened
        self._lemma_of[node] = opened
        return self._state(node, reply)

    def open_scopes(self, lemma: CoqLemma) -> list[str]:
        """Sections and modules still open at ``lemma``'s statement, outermost first."""
        return [name for name, _ in self.open_scope_sentences(lemma)]

    def open_scope_sentences(self, lemma: CoqLemma) -> list[tuple[str, int]]:
        """Like :meth:`open_scopes`, each with the index of the sentence that opened it."""
        stack: list[tuple[str, int]] = []
        for index, sentence in enumerate(self.sentences[:lemma.index]):
            opened = scope_opening(sentence.text)
            closed = scope_closing(sentence.text)
            names = [name for name, _ in stack]
            if opened:
                stack.append((opened[1], index))
            elif closed in names:
                del stack[len(names) - 1 - names[::-1].index(closed):]
        return stack

    def _state(self, node: int, reply: P.GoalsReply) -> ProofState:
        reply_all = self.session.goals(node, printing_all=True) if self.printing_all else None
        opened = self._lemma_of[node]
        return ProofState(theorem=opened.lemma.name, goals=make_goals(reply, reply_all),
                          key=(self._token, node), independent=False, backend="coq")

    def _node(self, state: ProofState) -> int | None:
        key = state.key
        if not (isinstance(key, tuple) and len(key) == 2 and key[0] == self._token
                and key[1] in self._lemma_of):
            return None
        return key[1]

    # ------------------------------------------------------------------ stepping

    def tactics(self, state: ProofState) -> list[str]:
        """The tactic script from the lemma's opening to ``state``."""
        script: list[str] = []
        node = self._node(state)
        while node in self._tactic:
            node, tactic = self._tactic[node]
            script.append(tactic)
        return script[::-1]

    def step(self, state: ProofState, action: str, timeout: float | None = None) -> StepResult:
        node = self._node(state)
        if node is None:
            return Rejected("unknown state: it does not belong to this environment")
        if not state.goals:
            return Rejected("the proof is already finished")
        check = check_tactic(action)
        if not check.ok:
            return Rejected(check.reason or "refused")
        result = self._at(node, self.session.run, check.sentence, timeout)
        if isinstance(result, Rejected):
            return result
        if isinstance(result, Failed):
            return Rejected(result.message or "Coq refused the tactic")
        if result.goals is None:
            return Rejected("the tactic left proof mode")
        opened = self._lemma_of[node]
        self._lemma_of[result.node] = opened
        self._tactic[result.node] = (node, check.sentence)
        if result.goals.given_up:
            return Rejected("the tactic gave up on a goal")
        new_state = self._state(result.node, result.goals)
        if not result.goals.all_closed:
            return Progress(new_state)
        qed = self.session.run(result.node, "Qed.", timeout=self.qed_timeout)
        if isinstance(qed, Failed):
            return Rejected(f"no goals left, but Qed failed: {qed.message}")
        header = opened.lemma.proof_header or "Proof."
        script = " ".join([header, *self.tactics(new_state), "Qed."])
        return Proved(proof=script, state=new_state)

    def query(self, state: ProofState, command: str,
              timeout: float | None = None) -> Answer | Rejected:
        """Run one read-only command at ``state`` (its first word one of
        :data:`~provergym.coq.tactics.QUERY_COMMANDS`: ``Search``, ``Check``, ``Print``,
        ``About``, ``Locate``, ...) and return what Coq printed. The proof is never changed:
        the command goes through coqidetop's Query, outside the document, and anything else
        is ``Rejected`` before it reaches Coq."""
        node = self._node(state)
        if node is None:
            return Rejected("unknown state: it does not belong to this environment")
        check = check_query(command)
        if not check.ok:
            return Rejected(check.reason or "refused")
        result = self._at(node, self.session.query, check.sentence, timeout)
        if isinstance(result, Rejected):
            return result
        if isinstance(result, Failed):
            return Rejected(result.message or "Coq refused the query")
        return Answer("\n".join(result))

    def _at(self, node: int, call: Any, sentence: str, timeout: float | None) -> Any:
        """``call(node, sentence)`` (a session's run or query) under Coq's own Timeout. Going
        back to ``node`` re-runs its tactics; when one fails this time (one that ran just
        under its timeout may overrun on a busy machine), the state cannot be restored now:
        that is this call's failure, a Rejected, not the prover's."""
        seconds = self.step_timeout if timeout is None else timeout
        try:
            return call(node, with_timeout(sentence, seconds), timeout=seconds)
        except SentenceFailed as error:
            return Rejected(f"cannot return to this state: replaying its tactics failed "
                            f"({error.message})")

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> CoqFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

