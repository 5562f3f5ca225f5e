"""``provergym/Coq-v0``: a thin Gymnasium wrapper over ``CoqFile`` (the state-handle API is
primary; tree search should use it directly).

Observation: the printed goals. Action: tactic text. Reward 1 when ``Qed`` accepts the
proof (terminated), else 0; a refused or failed tactic leaves the state unchanged and says
why in ``info["rejected"]``. ``truncated`` when ``max_steps`` actions were taken.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
from gymnasium import spaces

from provergym.api import Progress, ProofState, Proved, Rejected
from provergym.coq.env import CoqFile

ENV_ID = "provergym/Coq-v0"
# Text spaces need an explicit charset: the Basic Multilingual Plane without surrogates and
# control characters (Coq goals use UTF-8 notations such as ∀, →, ∈). Characters beyond it
# are shown as U+FFFD in observations.
CHARSET = "\n\t" + "".join(chr(c) for c in range(0x20, 0x10000)
                           if not (0xD800 <= c <= 0xDFFF) and c != 0x7F)
_CHARSET_SET = frozenset(CHARSET)
MAX_OBSERVATION = 100_000
MAX_ACTION = 2_000


def _clean(text: str) -> str:
    text = "".join(c if c in _CHARSET_SET else "\ufffd" for c in text)
    return text[:MAX_OBSERVATION]


class CoqEnv(gym.Env):
    """One episode = one lemma of ``file`` (chosen with the env's RNG, or ``options["lemma"]``)."""

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, file: str | Path, lemmas: Sequence[str] | None = None, *,
                 coq_args: Sequence[str] = (), max_steps: int = 50, step_timeout: float = 5.0,
                 render_mode: str | None = None) -> None:
        self.backend = CoqFile(file, coq_args=coq_args, step_timeout=step_timeout)
        self.lemmas = list(lemmas) if lemmas else list(self.backend.lemmas)
        if not self.lemmas:
            self.backend.close()
            raise ValueError(f"{file}: no lemma with a proof to play")
        self.max_steps = max_steps
        self.render_mode = render_mode
        self.observation_space = spaces.Text(MAX_OBSERVATION, min_length=0, charset=CHARSET)
        self.action_space = spaces.Text(MAX_ACTION, min_length=1, charset=CHARSET)
        self.state: ProofState | None = None
        self.steps = 0

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        lemma = (options or {}).get("lemma")
        if lemma is None:
            lemma = self.lemmas[int(self.np_random.integers(len(self.lemmas)))]
        self.state = self.backend.open(lemma)
        self.steps = 0
        return _clean(self.state.pretty()), {"lemma": lemma}

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
        return _clean(self.state.pretty()), reward, terminated, truncated, info

    def render(self) -> str | None:
        if self.render_mode == "ansi" and self.state is not None:
            return self.state.pretty()
        return None

    def close(self) -> None:
        if getattr(self, "backend", None) is not None:
            self.backend.close()  # safe twice: the session's close is idempotent


def register() -> None:
    """Register ``provergym/Coq-v0`` (idempotent)."""
    if ENV_ID not in gym.registry:
        gym.register(id=ENV_ID, entry_point="provergym.coq.gym:CoqEnv")


register()
