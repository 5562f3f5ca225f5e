"""The proof checker: normal and compressed proofs, with ``$d`` conditions enforced.

A proof may cite only the theorem's active hypotheses and assertions that come *before*
it in the database, never itself or a later one. Every assertion is compiled once into a
:class:`Frame` whose substitution templates are ``str.format`` strings, so applying a
substitution is one C call. ``?`` steps make a proof *incomplete*, which is never
reported as verified.
"""

from __future__ import annotations

import gc
import os
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from provergym.metamath.database import Database, Statement

COMPRESSED_STEP = re.compile(r"[U-Y]*[A-T]|Z|\?")


class ProofError(Exception):
    """A proof that does not check; the message says which step and why."""


class IncompleteProof(ProofError):
    """A proof with unknown (``?``) steps."""


@dataclass(frozen=True)
class Failure:
    label: str
    line: int
    reason: str
    incomplete: bool = False


@dataclass(frozen=True)
class VerifyReport:
    checked: int
    failures: tuple[Failure, ...]
    seconds: float

    @property
    def errors(self) -> list[Failure]:
        return [f for f in self.failures if not f.incomplete]

    @property
    def incomplete(self) -> list[Failure]:
        return [f for f in self.failures if f.incomplete]


def _escape(body: str) -> str:
    return body.replace("{", "{{").replace("}", "}}")


def _template(body: str, index_of: dict[str, int]) -> str:
    """``"( ph -> ps ) "`` with ph, ps at indices 0, 1 becomes ``"( {0}-> {1}) "``: a
    variable's substitution already ends in a space (or is empty), so none is added."""
    parts = []
    for sym in body.split():
        i = index_of.get(sym)
        parts.append("{%d}" % i if i is not None else _escape(sym) + " ")
    return "".join(parts)


class Frame:
    """An assertion compiled for application: what its hypotheses expect and what it gives."""

    __slots__ = ("label", "index", "n_hyps", "floats", "essentials", "typecode", "template",
                 "disjoint", "n_vars", "variables")

    def __init__(self, db: Database, statement: Statement):
        statements = db.statements
        self.label = statement.label
        self.index = statement.index
        hyps = [statements[h] for h in statement.hypotheses]
        variables = [h.body.strip() for h in hyps if h.kind == "f"]
        index_of = {v: i for i, v in enumerate(variables)}
        self.variables = tuple(variables)
        self.n_vars = len(variables)
        self.n_hyps = len(hyps)
        # (position among the hypotheses, typecode, variable index)
        self.floats = tuple((pos, h.typecode, index_of[h.body.strip()])
                            for pos, h in enumerate(hyps) if h.kind == "f")
        # (position, typecode, template, label)
        self.essentials = tuple((pos, h.typecode, _template(h.body, index_of), h.label)
                                for pos, h in enumerate(hyps) if h.kind == "e")
        self.typecode = statement.typecode
        self.template = _template(statement.body, index_of)
        self.disjoint = tuple((index_of[x], index_of[y]) for x, y in sorted(statement.disjoint))


class Kernel:
    """Checks proofs of one database. Frames are compiled on first use and cached."""

    def __init__(self, db: Database):
        self.db = db
        self.frames: dict[str, Frame] = {}
        self.variables = db.variables

    def frame(self, label: str) -> Frame:
        frame = self.frames.get(label)
        if frame is None:
            frame = self.frames[label] = Frame(self.db, self.db.statements[label])
        return frame

    # -- resolution ---------------------------------------------------------------------
    def _resolve(self, theorem: Statement, label: str, active: frozenset[str] | set[str]):
        """What a cited label does: push a hypothesis, or apply an earlier assertion."""
        statement = self.db.statements.get(label)
        if statement is None:
            raise ProofError(f"unknown label {label!r}")
        if statement.kind in "fe":
            if label not in active:
                raise ProofError(f"hypothesis {label!r} is not active in this scope")
            return (statement.typecode, statement.body)
        if statement.index >= theorem.index:
            which = "itself" if label == theorem.label else f"{label!r}, which comes later"
            raise ProofError(f"the proof cites {which}")
        return self.frame(label)

    # -- checking -----------------------------------------------------------------------
    def verify(self, label: str) -> None:
        """Raise :class:`ProofError` unless ``label``'s proof proves its statement."""
        theorem = self.db.statements[label]
        if theorem.kind != "p":
            raise ProofError(f"{label!r} is a ${theorem.kind}, not a $p")
        steps = self.decode(theorem)
        self.check_steps(theorem, steps)

    def verify_normal(self, label: str, proof: Sequence[str]) -> None:
        """Check a proof given as a list of labels (normal format, no ``?``) for the
        statement ``label``, citing only what ``label`` may cite. Stable API used by the
        environment and export."""
        theorem = self.db.statements[label]
        scope = theorem.scope
        active = frozenset(scope.hypotheses) if scope else frozenset()
        if not proof:
            raise ProofError("empty proof")
        steps = [self._resolve(theorem, token, active) for token in proof]
        self.check_steps(theorem, steps)

    def decode(self, theorem: Statement) -> list:
        """The proof as a list of steps: a hypothesis entry ``(typecode, body)``, a
        :class:`Frame`, ``("Z",)`` to save the top of the stack (compressed proofs), or an
        ``int`` k meaning "push saved entry k"."""
        proof = theorem.proof or ""
        tokens = proof.split()
        if not tokens:
            raise ProofError("empty proof")
        scope = theorem.scope
        active = frozenset(scope.hypotheses) if scope else frozenset()
        if tokens[0] != "(":
            if "?" in tokens:
                raise IncompleteProof("the proof has unknown steps (?)")
            cache: dict[str, object] = {}
            steps = []
            for token in tokens:
                item = cache.get(token)
                if item is None:
                    item = cache[token] = self._resolve(theorem, token, active)
                steps.append(item)
            return steps
        try:
            close = tokens.index(")")
        except ValueError:
            raise ProofError("compressed proof: the label list has no ')'") from None
        labels = tokens[1:close]
        letters = "".join(tokens[close + 1:])
        mandatory = set(theorem.hypotheses)
        for label in labels:
            if label in mandatory:
                raise ProofError(f"compressed proof lists mandatory hypothesis {label!r}")
        table = [self._resolve(theorem, h, active) for h in theorem.hypotheses]
        table += [self._resolve(theorem, h, active) for h in labels]
        if not letters:
            raise ProofError("compressed proof has no steps")
        codes = COMPRESSED_STEP.findall(letters)
        if sum(map(len, codes)) != len(letters):
            bad = re.sub(r"[A-Z?]", "", letters)[:1] or letters[-1]
            raise ProofError(f"compressed proof: bad character or truncated number near {bad!r}")
        steps = []
        n_table = len(table)
        for code in codes:
            if code == "Z":
                steps.append(("Z",))
                continue
            if code == "?":
                raise IncompleteProof("the proof has unknown steps (?)")
            number = 0
            for char in code[:-1]:
                number = number * 5 + (ord(char) - 84)  # U=1 .. Y=5
            number = number * 20 + (ord(code[-1]) - 64)  # A=1 .. T=20
            if number <= n_table:
                steps.append(table[number - 1])
            else:
                steps.append(number - n_table - 1)  # a saved entry
        return steps

    def check_steps(self, theorem: Statement, steps: Sequence) -> None:
        stack: list[tuple[str, str]] = []
        saved: list[tuple[str, str]] = []
        variables = self.variables
        theorem_dv = theorem.scope.disjoint if theorem.scope else frozenset()
        for number, step in enumerate(steps, 1):
            kind = type(step)
            if kind is tuple:
                if len(step) == 1:  # Z: save the top of the stack
                    if not stack:
                        raise ProofError(f"step {number}: Z with an empty stack")
                    saved.append(stack[-1])
                else:
                    stack.append(step)
                continue
            if kind is int:
                if step >= len(saved):
                    raise ProofError(f"step {number}: reference to saved step {step + 1}, "
                                     f"but only {len(saved)} are saved")
                stack.append(saved[step])
                continue
            frame: Frame = step
            base = len(stack) - frame.n_hyps
            if base < 0:
                raise ProofError(f"step {number} ({frame.label}): needs {frame.n_hyps} "
                                 f"hypotheses, the stack has {len(stack)}")
            subs = [""] * frame.n_vars
            for pos, typecode, var in frame.floats:
                entry = stack[base + pos]
                if entry[0] != typecode:
                    raise ProofError(f"step {number} ({frame.label}): hypothesis {pos + 1} "
                                     f"wants typecode {typecode}, got {entry[0]}")
                subs[var] = entry[1]
            for pos, typecode, template, ess_label in frame.essentials:
                entry = stack[base + pos]
                want = template.format(*subs)
                if entry[1] != want or entry[0] != typecode:
                    raise ProofError(
                        f"step {number} ({frame.label}): hypothesis {ess_label} wants "
                        f"'{typecode} {want.rstrip()}', got '{entry[0]} {entry[1].rstrip()}'")
            if frame.disjoint:
                for i, j in frame.disjoint:
                    left = [s for s in subs[i].split() if s in variables]
                    right = [s for s in subs[j].split() if s in variables]
                    for x in left:
                        for y in right:
                            if x == y:
                                raise ProofError(
                                    f"step {number} ({frame.label}): $d {frame.variables[i]} "
                                    f"{frame.variables[j]} violated: both contain {x}")
                            if ((x, y) if x < y else (y, x)) not in theorem_dv:
                                raise ProofError(
                                    f"step {number} ({frame.label}): $d {frame.variables[i]} "
                                    f"{frame.variables[j]} needs $d {x} {y}, which "
                                    f"{theorem.label} does not have")
            del stack[base:]
            stack.append((frame.typecode, frame.template.format(*subs)))
        if len(stack) != 1:
            raise ProofError(f"the proof leaves {len(stack)} entries on the stack, not 1")
        got = stack[0]
        if got[0] != theorem.typecode or got[1] != theorem.body:
            raise ProofError(f"the proof proves '{got[0]} {got[1].rstrip()}', not the "
                             f"statement '{theorem.expression()}'")


def _check_many(db: Database, labels: Iterable[str]) -> list[Failure]:
    kernel = Kernel(db)
    failures = []
    for label in labels:
        try:
            kernel.verify(label)
        except ProofError as error:
            failures.append(Failure(label, db.line_of(db.statements[label]), str(error),
                                    isinstance(error, IncompleteProof)))
    return failures


# Set in the parent before forking, so workers inherit the parsed database for free.
_SHARED_DB: Database | None = None


def _worker(labels: list[str]) -> list[Failure]:
    gc.disable()
    assert _SHARED_DB is not None
    return _check_many(_SHARED_DB, labels)


def verify_database(db: Database, labels: Sequence[str] | None = None,
                    jobs: int = 1) -> VerifyReport:
    """Check the proofs of ``labels`` (default: every ``$p``) with ``jobs`` processes."""
    global _SHARED_DB
    start = time.perf_counter()
    if labels is None:
        labels = [s.label for s in db.statements.values() if s.kind == "p"]
    labels = list(labels)
    enabled = gc.isenabled()
    gc.disable()
    try:
        if jobs <= 1 or len(labels) < 200 or not hasattr(os, "fork"):
            failures = _check_many(db, labels)
        else:
            import multiprocessing

            _SHARED_DB = db
            gc.freeze()  # keep the inherited pages shared: no refcount-free gc walks
            context = multiprocessing.get_context("fork")
            # Interleaved chunks balance the load: late theorems have longer proofs.
            chunks = [labels[i::jobs * 4] for i in range(jobs * 4)]
            with context.Pool(jobs) as pool:
                failures = [f for part in pool.map(_worker, chunks) for f in part]
            _SHARED_DB = None
            gc.unfreeze()
            order = {label: i for i, label in enumerate(labels)}
            failures.sort(key=lambda f: order[f.label])
    finally:
        if enabled:
            gc.enable()
    return VerifyReport(len(labels), tuple(failures), time.perf_counter() - start)
