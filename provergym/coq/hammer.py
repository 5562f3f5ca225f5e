"""CoqHammer's reconstruction tactics (``sauto``, ``hauto``, ``best``) as a baseline prover.

The import runs just before the lemma's statement (importing it at the top of a file adds
hints that change how later ``intuition`` calls behave). ``best`` forks workers that survive
Coq's ``Timeout``, so coqidetop's descendants are killed after every trial.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from provergym.api import Proved, Rejected
from provergym.coq.env import CoqFile

HAMMER_IMPORT = "From Hammer Require Import Tactics."
TACTICS = ("best", "sauto", "hauto")


class HammerProver:
    """Try one hammer tactic on lemmas of one file."""

    def __init__(self, path: str | Path, *, coq_args: Sequence[str] = (),
                 timeout: float = 10.0, tactic: str = "best") -> None:
        if tactic not in TACTICS:
            raise ValueError(f"tactic must be one of {TACTICS}, not {tactic!r}")
        self.tactic = tactic
        self.timeout = timeout
        self.env = CoqFile(path, coq_args=coq_args, step_timeout=timeout)

    def prove(self, lemma: str) -> Proved | Rejected:
        """``Proved`` (already checked by Qed) or ``Rejected`` with Coq's reason."""
        state = self.env.open(lemma, preamble=(HAMMER_IMPORT,))
        try:
            result = self.env.step(state, f"{self.tactic}.")
        finally:
            self.env.session.kill_children()  # best's workers, whatever happened
        if isinstance(result, Proved):
            return result
        if isinstance(result, Rejected):
            return result
        return Rejected(f"{self.tactic} left goals open")

    def close(self) -> None:
        self.env.close()

    def __enter__(self) -> HammerProver:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
