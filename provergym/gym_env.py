"""A thin Gymnasium wrapper over any :class:`~provergym.api.Backend`.

The state-handle API is primary (tree search uses it directly); this wrapper is for
agents that want ``reset``/``step``. Observation: the printed goals. Action: text.
Reward 1 when the proof is found (``terminated``); ``truncated`` once ``max_steps``
actions were taken. A refused action leaves the state unchanged and says why in
``info["rejected"]``: random text is a rejection, never a crash. The ids are registered
by ``import provergym`` (:mod:`provergym._register`), not here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
from gymnasium import spaces

from provergym.api import Backend, Progress, ProofState, Proved, Rejected

# Text spaces need an explicit charset. Printable ASCII plus newline and tab covers
# Metamath; Coq adds the Basic Multilingual Plane (notations such as ∀, →, ∈).
ASCII_CHARSET = "\n\t" + "".join(chr(c) for c in range(0x20, 0x7F))
UNICODE_CHARSET = "\n\t" + "".join(chr(c) for c in range(0x20, 0x10000)
                                   if not (0xD800 <= c <= 0xDFFF) and c != 0x7F)
MAX_OBSERVATION = 100_000
MAX_ACTION = 2_000


class ProverGymEnv(gym.Env):
    """One episode = one theorem (chosen with the env's RNG, or ``options["theorem"]``)."""

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, backend: Backend, theorems: Sequence[str], *, max_steps: int = 50,
                 charset: str = ASCII_CHARSET, render_mode: str | None = None) -> None:
        self.backend = backend
        self.theorems = list(theorems)
        if not self.theorems:
            backend.close()
            raise ValueError("no theorem to play")
        self.max_steps = max_steps
        self.render_mode = render_mode
        self._charset = frozenset(charset)
        self.observation_space = spaces.Text(MAX_OBSERVATION, min_length=0, charset=charset)
        self.action_space = spaces.Text(MAX_ACTION, min_length=1, charset=charset)
        self.state: ProofState | None = None
        self.steps = 0

    def _observe(self) -> str:
        assert self.state is not None
        text = self.state.pretty()
        return "".join(c if c in self._charset else "?" for c in text)[:MAX_OBSERVATION]

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        options = options or {}
        theorem = options.get("theorem", options.get("lemma"))
        if theorem is None:
            theorem = self.theorems[int(self.np_random.integers(len(self.theorems)))]
        self.state = self.backend.open(theorem)
        self.steps = 0
        return self._observe(), {"theorem": theorem}

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self.state is None:
            raise RuntimeError("call reset() before step()")
        self.steps += 1
        info: dict[str, Any] = {}
        reward, terminated = 0.0, False
        result = self.backend.step(self.state, str(action))
        if isinstance(result, Progress):
            self.state = result.state
        elif isinstance(result, Proved):
            reward, terminated = 1.0, True
            info["proof"] = result.proof
            if result.state is not None:
                self.state = result.state
        elif isinstance(result, Rejected):
            info["rejected"] = result.reason
        truncated = not terminated and self.steps >= self.max_steps
        return self._observe(), reward, terminated, truncated, info

    def render(self) -> str | None:
        if self.render_mode == "ansi" and self.state is not None:
            return self.state.pretty()
        return None

    def close(self) -> None:
        backend = getattr(self, "backend", None)
        if backend is not None:
            backend.close()  # backends make close() idempotent
