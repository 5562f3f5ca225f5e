"""Coq policies that use no trained model."""

from __future__ import annotations

import math
from collections.abc import Sequence

from provergym.api import ProofState

# the fixed tactic list, tried in this order on every state
COQ_TACTICS = ("reflexivity.", "assumption.", "trivial.", "auto.", "intros.", "split.",
               "simpl.", "easy.", "tauto.", "congruence.", "constructor.", "intuition.",
               "eauto.", "discriminate.", "lia.")


class FixedTactics:
    """Coq, no model: the same tactics for every state, equally likely."""

    def __init__(self, tactics: Sequence[str] = COQ_TACTICS) -> None:
        self.tactics = tuple(tactics)

    def propose(self, state: ProofState, n: int) -> list[tuple[str, float]]:
        logprob = -math.log(len(self.tactics))
        return [(tactic, logprob) for tactic in self.tactics[:n]]
