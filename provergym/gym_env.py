"""A thin Gymnasium wrapper over any :class:`~provergym.api.Backend`.

The state-handle API is primary (tree search uses it directly); this wrapper is for
agents that want ``reset``/``step``. Observation: the printed goals. Action: text.
Reward 1 when the proof is found (``terminated``); ``truncated`` once ``max_steps``
actions were taken. A refused action leaves the state unchanged and says why in
``info["rejected"]``: random text is a rejection, never a crash. The ids are registered
by ``import provergym`` (:mod:`provergym._register`), not here.

Candidate actions. With a ``candidates`` function (the backends give the search's own
generators: Metamath's applicable actions ranked by label frequency, Coq's fixed tactics),
every ``info`` carries ``candidates`` (up to ``num_candidates`` action texts) and
``action_mask`` (an int8 array of ``num_candidates``: 1 where a candidate exists). Two
wrappers make the environment fit off-the-shelf RL code: :class:`DiscreteCandidates`
(action ``i`` plays candidate ``i``) and :class:`HashedObservation` (the goal text as a
fixed-size vector of hashed token counts). ``examples/ppo_metamath.py`` trains PPO on them.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from provergym.api import Backend, Progress, ProofState, Proved, Rejected

# Text spaces need an explicit charset. Printable ASCII plus newline and tab covers
# Metamath; Coq adds the Basic Multilingual Plane (notations such as ∀, →, ∈).
ASCII_CHARSET = "\n\t" + "".join(chr(c) for c in range(0x20, 0x7F))
UNICODE_CHARSET = "\n\t" + "".join(chr(c) for c in range(0x20, 0x10000)
                                   if not (0xD800 <= c <= 0xDFFF) and c != 0x7F)
MAX_OBSERVATION = 100_000
MAX_ACTION = 2_000
NUM_CANDIDATES = 16

Candidates = Callable[[ProofState, int], Sequence[str]]


class TextSpace(spaces.Text):
    """``spaces.Text`` whose repr names its charset instead of printing it (the Coq charset
    is 63,482 characters)."""

    def __repr__(self) -> str:
        charset = self.character_set
        described = ("printable ASCII" if len(charset) < 128 else
                     f"Unicode BMP, {len(charset):,} characters")
        return f"Text({self.min_length}, {self.max_length}, charset=<{described}>)"


class ProverGymEnv(gym.Env):
    """One episode = one theorem (chosen with the env's RNG, or ``options["theorem"]``)."""

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, backend: Backend, theorems: Sequence[str], *, max_steps: int = 50,
                 charset: str = ASCII_CHARSET, render_mode: str | None = None,
                 candidates: Candidates | None = None,
                 num_candidates: int = NUM_CANDIDATES) -> None:
        self.backend = backend
        self.theorems = list(theorems)
        if not self.theorems:
            backend.close()
            raise ValueError("no theorem to play")
        self.max_steps = max_steps
        self.render_mode = render_mode
        self._charset = frozenset(charset)
        self.observation_space = TextSpace(MAX_OBSERVATION, min_length=0, charset=charset)
        self.action_space = TextSpace(MAX_ACTION, min_length=1, charset=charset)
        self.state: ProofState | None = None
        self.steps = 0
        self.candidate_function = candidates
        self.num_candidates = num_candidates
        self.candidates: list[str] = []

    def _with_candidates(self, info: dict[str, Any]) -> dict[str, Any]:
        """Add the current state's candidates and action mask (when the env has them)."""
        if self.candidate_function is None:
            return info
        self.candidates = []
        if self.state is not None and self.state.goals:
            self.candidates = list(self.candidate_function(self.state,
                                                           self.num_candidates))[
                : self.num_candidates]
        mask = np.zeros(self.num_candidates, dtype=np.int8)
        mask[:len(self.candidates)] = 1
        info["candidates"] = list(self.candidates)
        info["action_mask"] = mask
        return info

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
        return self._observe(), self._with_candidates({"theorem": theorem})

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
        return self._observe(), reward, terminated, truncated, self._with_candidates(info)

    def render(self) -> str | None:
        if self.render_mode == "ansi" and self.state is not None:
            return self.state.pretty()
        return None

    def close(self) -> None:
        backend = getattr(self, "backend", None)
        if backend is not None:
            backend.close()  # backends make close() idempotent


class DiscreteCandidates(gym.Wrapper):
    """Action ``i`` plays the ``i``-th candidate of the current state (``Discrete``); an
    index with no candidate (``action_mask[i] == 0``) is a rejection that changes nothing.
    A state with no candidate at all is a dead end for this action space: the step that
    reaches it (or any step taken in it) ends the episode as truncated, with
    ``info["dead_end"]``. Needs an environment built with candidates."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        inner = env.unwrapped
        if getattr(inner, "candidate_function", None) is None:
            raise ValueError("DiscreteCandidates needs an environment with candidates")
        self.action_space = spaces.Discrete(inner.num_candidates)

    def step(self, action: int) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        inner = self.env.unwrapped
        index = int(action)
        if not 0 <= index < len(inner.candidates):
            inner.steps += 1
            info = inner._with_candidates({"rejected": f"no candidate {index}"})
            observation, reward, terminated = inner._observe(), 0.0, False
            truncated = inner.steps >= inner.max_steps
        else:
            observation, reward, terminated, truncated, info = self.env.step(
                inner.candidates[index])
        if not terminated and not inner.candidates:
            info["dead_end"] = True
            truncated = True
        return observation, reward, terminated, truncated, info


class HashedObservation(gym.ObservationWrapper):
    """The observed text as ``dim`` float32 counts of its whitespace tokens and token pairs,
    hashed (CRC32), scaled by log1p: a fixed-size vector that any MLP policy reads."""

    def __init__(self, env: gym.Env, dim: int = 512) -> None:
        super().__init__(env)
        self.dim = dim
        high = float(np.log1p(MAX_OBSERVATION))  # no text holds more tokens than characters
        self.observation_space = spaces.Box(0.0, high, shape=(dim,), dtype=np.float32)

    def observation(self, observation: str) -> np.ndarray:
        vector = np.zeros(self.dim, dtype=np.float32)
        tokens = observation.split()
        for token in [*tokens, *(f"{a} {b}" for a, b in zip(tokens, tokens[1:]))]:
            vector[zlib.crc32(token.encode("utf-8")) % self.dim] += 1.0
        return np.log1p(vector)
