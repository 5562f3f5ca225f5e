"""``provergym/Metamath-v0``: the Gymnasium wrapper over :class:`MetamathEnv`.

One episode = one ``$p`` of the database. An action is ``label {{ var : expr }} ...``
applied to the first open goal; syntactic goals close themselves.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from provergym.gym_env import ASCII_CHARSET, ProverGymEnv
from provergym.metamath.env import MetamathEnv

ENV_ID = "provergym/Metamath-v0"
DEFAULT_DATABASE = "/usr/share/metamath/databases/demo0.mm"


class MetamathGymEnv(ProverGymEnv):
    def __init__(self, database: str | os.PathLike[str] | MetamathEnv = DEFAULT_DATABASE,
                 theorems: Sequence[str] | None = None, *, max_steps: int = 50,
                 render_mode: str | None = None) -> None:
        env = database if isinstance(database, MetamathEnv) else MetamathEnv(database)
        names = list(theorems) if theorems else [s.label for s in env.db.theorems()]
        super().__init__(env, names, max_steps=max_steps, charset=ASCII_CHARSET,
                         render_mode=render_mode)

