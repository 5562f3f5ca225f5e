"""The backend-neutral API: state handles, step results, infrastructure errors.

A backend provides ``open(theorem) -> ProofState`` and ``step(state, action) -> StepResult``.
States are immutable handles: any state returned earlier may be stepped again, which is
what tree search needs. Failures inside the prover are values (``Rejected``); only
infrastructure failures are exceptions.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class Hypothesis:
    """A named local hypothesis of a goal (a Metamath ``$e``, a Coq context entry)."""

    name: str
    type: str
    body: str | None = None  # the value of a let-bound Coq hypothesis


@dataclass(frozen=True)
class Goal:
    """One goal: its conclusion and the hypotheses it may use, as printed text.

    ``data`` carries backend-specific structure (a Metamath expression, a Coq AST) and does
    not decide equality: two goals that print the same are the same goal.
    """

    conclusion: str
    hypotheses: tuple[Hypothesis, ...] = ()
    data: Any = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        lines = [f"{h.name} : {h.type}" if h.body is None else f"{h.name} := {h.body} : {h.type}"
                 for h in self.hypotheses]
        return "\n".join([*lines, "=" * 20, self.conclusion]) if lines else self.conclusion


@dataclass(frozen=True)
class ProofState:
    """An immutable handle on a proof state.

    ``key`` identifies the state inside its backend (equal keys mean the same state), and
    ``goals`` are its open goals. ``independent`` says whether the goals can be solved
    separately (Metamath: AND node) or must be taken in the order shown (Coq).
    """

    theorem: str
    goals: tuple[Goal, ...]
    key: Hashable = field(compare=True)
    independent: bool = False
    backend: str = field(default="", compare=False)
    # Backend-private data (e.g. the steps taken so far, for proof assembly).
    data: Any = field(default=None, compare=False, repr=False)

    @property
    def is_solved(self) -> bool:
        return not self.goals

    def pretty(self) -> str:
        return "\n\n".join(str(g) for g in self.goals) if self.goals else "no goals"


@dataclass(frozen=True)
class Progress:
    """The action was accepted and left goals open."""

    state: ProofState


@dataclass(frozen=True)
class Proved:
    """The action closed the last goal; ``proof`` is the full proof, already checked."""

    proof: str
    state: ProofState | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Rejected:
    """The prover refused the action; ``reason`` says why. The input state is unchanged."""

    reason: str


StepResult = Progress | Proved | Rejected


class ProverError(Exception):
    """Base class of infrastructure failures (never used for a rejected action)."""


class ProverCrash(ProverError):
    """The prover process died and could not be recovered."""


class ProverTimeout(ProverError):
    """The prover did not answer in time and could not be interrupted."""


class InitError(ProverError):
    """The prover or the theorem could not be set up (missing file, unknown theorem...)."""


@runtime_checkable
class Backend(Protocol):
    """What search, corpora and the Gymnasium wrapper need from a prover."""

    name: str

    def open(self, theorem: str) -> ProofState: ...

    def step(self, state: ProofState, action: str) -> StepResult: ...

    def close(self) -> None: ...
