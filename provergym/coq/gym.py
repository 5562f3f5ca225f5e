"""``provergym/Coq-v0``: the Gymnasium wrapper over :class:`~provergym.coq.env.CoqFile`.

One episode = one lemma of ``file``. A refused or failed tactic leaves the state unchanged
and says why in ``info["rejected"]``; reward 1 when ``Qed`` accepts the proof.
``info["candidates"]`` holds the fixed tactic list (``COQ_TACTICS``), with ``action_mask``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from provergym.api import ProofState
from provergym.coq.env import CoqFile
from provergym.coq.policies import COQ_TACTICS
from provergym.gym_env import UNICODE_CHARSET, ProverGymEnv

ENV_ID = "provergym/Coq-v0"
CHARSET = UNICODE_CHARSET


def _fixed_tactics(state: ProofState, n: int) -> list[str]:
    return list(COQ_TACTICS[:n])


class CoqEnv(ProverGymEnv):
    def __init__(self, file: str | Path, lemmas: Sequence[str] | None = None, *,
                 coq_args: Sequence[str] = (), max_steps: int = 50, step_timeout: float = 5.0,
                 render_mode: str | None = None, candidates: bool = True) -> None:
        backend = CoqFile(file, coq_args=coq_args, step_timeout=step_timeout)
        names = list(lemmas) if lemmas else list(backend.lemmas)
        if not names:
            backend.close()
            raise ValueError(f"{file}: no lemma with a proof to play")
        super().__init__(backend, names, max_steps=max_steps, charset=UNICODE_CHARSET,
                         render_mode=render_mode,
                         candidates=_fixed_tactics if candidates else None,
                         num_candidates=len(COQ_TACTICS))
        self.lemmas = self.theorems
