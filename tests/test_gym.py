"""The Gymnasium side: both ids through ``gymnasium.make``, ``check_env`` with no warning,
candidate actions with their mask, and the two wrappers that make the environment fit
off-the-shelf RL code. (The Coq id is checked in tests/coq/test_env.py, on real Coq.)"""

from __future__ import annotations

import random
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import provergym  # noqa: F401 - registers the ids
from provergym.gym_env import DiscreteCandidates, HashedObservation
from provergym.metamath.gym import MetamathGymEnv

HOL = "/usr/share/metamath/databases/hol.mm"


def _check(env) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the checker's warnings fail the test
        warnings.filterwarnings("ignore", message=".*different from the unwrapped version")
        check_env(env, skip_render_check=True)


def test_metamath_id_passes_check_env() -> None:
    environment = gym.make("provergym/Metamath-v0")
    try:
        _check(environment.unwrapped)
        assert "printable ASCII" in repr(environment.observation_space)
    finally:
        environment.close()


def test_candidates_are_the_search_proposals_and_apply() -> None:
    environment = MetamathGymEnv(HOL, num_candidates=8)
    observation, info = environment.reset(seed=3)
    candidates, mask = info["candidates"], info["action_mask"]
    assert mask.dtype == np.int8 and mask.shape == (8,)
    assert mask.sum() == len(candidates) and 1 <= len(candidates) <= 8
    applied = 0
    for action in candidates:
        environment.reset(options={"theorem": info["theorem"]})
        _, _, _, _, step_info = environment.step(action)
        applied += "rejected" not in step_info
    assert applied >= len(candidates) - 1  # the search's own generator: they apply
    environment.close()


def test_discrete_and_hashed_wrappers_pass_check_env_and_play() -> None:
    wrapped = HashedObservation(DiscreteCandidates(MetamathGymEnv(HOL, max_steps=20)), dim=64)
    _check(wrapped)
    assert wrapped.action_space == gym.spaces.Discrete(16)
    observation, info = wrapped.reset(seed=0)
    assert observation.shape == (64,) and observation.dtype == np.float32
    assert wrapped.observation_space.contains(observation)
    # an index without a candidate is a rejection that changes nothing
    empty = int(np.flatnonzero(info["action_mask"] == 0)[0]) if not info["action_mask"].all() \
        else None
    if empty is not None:
        same, reward, terminated, _, step_info = wrapped.step(empty)
        assert reward == 0 and not terminated and "no candidate" in step_info["rejected"]
        assert np.array_equal(same, observation)
    # random masked play proves some theorems of hol.mm within 20 steps
    rng = random.Random(0)
    proved = 0
    for episode in range(60):
        observation, info = wrapped.reset(seed=episode)
        done = False
        while not done:
            choices = np.flatnonzero(info["action_mask"])
            action = int(rng.choice(list(choices))) if len(choices) else 0
            observation, reward, terminated, truncated, info = wrapped.step(action)
            done = terminated or truncated
            proved += reward == 1
    assert proved >= 1
    wrapped.close()


def test_discrete_wrapper_needs_candidates() -> None:
    with pytest.raises(ValueError, match="candidates"):
        DiscreteCandidates(MetamathGymEnv(HOL, candidates=False))


def test_a_dead_end_ends_a_discrete_episode() -> None:
    """A state with no candidate: the Discrete wrapper truncates at once (demo0's th1 opens
    on one: no label's open variable can be fixed there)."""
    wrapped = DiscreteCandidates(MetamathGymEnv("/usr/share/metamath/databases/demo0.mm"))
    _, info = wrapped.reset(options={"theorem": "th1"})
    assert not info["action_mask"].any()
    _, reward, terminated, truncated, info = wrapped.step(0)
    assert truncated and not terminated and reward == 0 and info["dead_end"]
    wrapped.close()
