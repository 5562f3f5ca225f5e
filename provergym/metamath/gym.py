"""``provergym/Metamath-v0``: the Gymnasium wrapper over :class:`MetamathEnv`.

One episode = one ``$p`` of the database. An action is ``label {{ var : expr }} ...``
applied to the first open goal; syntactic goals close themselves. ``info["candidates"]``
holds the search's applicable actions for the state (labels whose conclusion unifies with
the goal, ranked by how often the database's proofs cite them), with ``action_mask``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from provergym.api import ProofState
from provergym.gym_env import ASCII_CHARSET, NUM_CANDIDATES, ProverGymEnv
from provergym.metamath.env import MetamathEnv

ENV_ID = "provergym/Metamath-v0"
DEFAULT_DATABASE = "/usr/share/metamath/databases/demo0.mm"


class FrequencyCandidates:
    """The frequency baseline's proposals as candidate texts, built on first use (counting
    every proof of the database takes a moment on set.mm)."""

    def __init__(self, env: MetamathEnv) -> None:
        self.env = env
        self._policy = None

    def __call__(self, state: ProofState, n: int) -> list[str]:
        if self._policy is None:
            from provergym.metamath.policies import FrequencyPolicy, training_label_counts

            theorems = [s.label for s in self.env.db.theorems()]
            counts = training_label_counts(self.env.db, theorems, self.env.syntax_typecodes)
            self._policy = FrequencyPolicy(self.env, counts)
        return [action for action, _ in self._policy.propose(state, n)]


class MetamathGymEnv(ProverGymEnv):
    def __init__(self, database: str | os.PathLike[str] | MetamathEnv = DEFAULT_DATABASE,
                 theorems: Sequence[str] | None = None, *, max_steps: int = 50,
                 render_mode: str | None = None, candidates: bool = True,
                 num_candidates: int = NUM_CANDIDATES) -> None:
        env = database if isinstance(database, MetamathEnv) else MetamathEnv(database)
        names = list(theorems) if theorems else [s.label for s in env.db.theorems()]
        super().__init__(env, names, max_steps=max_steps, charset=ASCII_CHARSET,
                         render_mode=render_mode,
                         candidates=FrequencyCandidates(env) if candidates else None,
                         num_candidates=num_candidates)
