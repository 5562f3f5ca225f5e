"""Fast unit tests of the search's own logic, on a fake backend (no prover involved)."""

from __future__ import annotations

import json
import math
import time

import pytest

from provergym.api import Goal, Progress, ProofState, Proved, Rejected
from provergym.bench.summary import (
    budget_points,
    format_summary,
    mcnemar_p,
    summarise,
    wilson_interval,
)
from provergym.search.bestfirst import SearchConfig, best_first_search
from provergym.search.result import BUDGET, CHECK_FAILED, EXHAUSTED, PROVED, TIMEOUT, SearchResult


class CountdownEnv:
    """Goals are numbers. "done" closes 0 or 1, "dec" turns n into n-1, "fib" into n-1 and
    n-2 (independent goals, like Metamath's), "loop" gives the goal back unchanged."""

    name = "fake"

    def __init__(self, independent: bool = True) -> None:
        self.independent = independent
        self.steps = 0
        self.replays: list[list[str]] = []

    def _state(self, theorem: str, goals: tuple[int, ...], trail: tuple[str, ...]) -> ProofState:
        key = (theorem, goals) if self.independent else (theorem, goals, trail)  # Coq-like keys
        return ProofState(theorem, tuple(Goal(str(g)) for g in goals), key,
                          independent=self.independent, data=(goals, trail))

    def open(self, theorem: str) -> ProofState:
        return self._state(theorem, (int(theorem[1:]),), ())

    def split(self, state: ProofState) -> tuple[ProofState, ...]:
        return tuple(self._state(state.theorem, (g,), ()) for g in state.data[0])

    def step(self, state: ProofState, action: str):
        self.steps += 1
        goals, trail = state.data
        n, rest = goals[0], goals[1:]
        if action == "done" and n <= 1:
            new: tuple[int, ...] = ()
        elif action == "dec" and n >= 1:
            new = (n - 1,)
        elif action == "fib" and n >= 2:
            new = (n - 1, n - 2)
        elif action == "loop":
            new = (n,)
        else:
            return Rejected(f"{action} does not apply to {n}")
        trail = (*trail, action)
        if not new + rest:
            return Proved(" ".join(trail))
        return Progress(self._state(state.theorem, new + rest, trail))

    def prove(self, theorem: str, actions: list[str]):
        self.replays.append(list(actions))
        state = self.open(theorem)
        for index, action in enumerate(actions):
            result = self.step(state, action)
            if isinstance(result, Rejected):
                return result
            if isinstance(result, Proved):
                return result if index == len(actions) - 1 else Rejected("too many actions")
            state = result.state
        return Rejected("goals left")


class ScriptedPolicy:
    """Proposes fixed actions with fixed log-probabilities and records what it was asked."""

    def __init__(self, actions: dict[str, float]) -> None:
        self.actions = actions
        self.asked: list[str] = []

    def propose(self, state: ProofState, n: int) -> list[tuple[str, float]]:
        self.asked.append(" ".join(g.conclusion for g in state.goals))
        ranked = sorted(self.actions.items(), key=lambda kv: -kv[1])
        return ranked[:n]


def test_and_goals_are_solved_once_and_the_proof_is_replayed_in_preorder():
    env = CountdownEnv()
    policy = ScriptedPolicy({"done": -0.1, "fib": -0.5, "loop": -0.2})
    result = best_first_search(env, "t5", policy, SearchConfig(expansions=50, candidates=3))
    assert result.status == PROVED, result.message
    # fib(5) needs the goals 4,3,2,1,0; each one is asked of the policy once at most.
    assert len(policy.asked) == len(set(policy.asked))
    assert set(policy.asked) <= {"5", "4", "3", "2", "1", "0"}
    # The replayed actions, in pre-order, are exactly what the checked replay accepted.
    assert env.replays == [list(result.actions)]
    assert result.proof == " ".join(result.actions)
    assert result.actions[0] == "fib" and result.checks == {"kernel": "ok"}
    assert result.expansions_to_proof == result.stats.expansions
    # "loop" led back to the goal itself: recorded, never expanded again.
    outcomes = {e.outcome for node in result.tree for e in node.edges}
    assert "duplicate" in outcomes


def test_expansion_budget_is_respected():
    env = CountdownEnv()
    policy = ScriptedPolicy({"dec": -1.0})  # never "done": it cannot succeed
    result = best_first_search(env, "t9", policy, SearchConfig(expansions=3, candidates=4))
    assert result.status == BUDGET
    assert result.stats.expansions == 3 and len(policy.asked) == 3
    assert result.proof is None and result.expansions_to_proof is None


def test_a_fallback_is_tried_even_when_the_policy_fills_every_slot():
    from provergym.search.policies import WithFallback

    env = CountdownEnv()
    # the policy alone never closes t1: four wrong actions fill the four candidate slots
    policy = ScriptedPolicy({"fib": -0.1, "loop": -0.2, "dec": -0.3, "nope": -0.4})
    alone = best_first_search(env, "t1", policy, SearchConfig(expansions=4, candidates=4))
    assert alone.status != PROVED
    found = best_first_search(env, "t1", WithFallback(policy, ("done",)),
                              SearchConfig(expansions=4, candidates=4))
    assert found.status == PROVED and found.actions[-1] == "done"
    assert all(len(node.edges) <= 4 for node in found.tree)


def test_search_stops_when_nothing_is_left_to_expand():
    env = CountdownEnv()
    result = best_first_search(env, "t2", ScriptedPolicy({}), SearchConfig(expansions=10))
    assert result.status == EXHAUSTED and result.stats.expansions == 1


def test_wall_clock_limit_is_respected():
    class SlowPolicy(ScriptedPolicy):
        def propose(self, state, n):
            time.sleep(0.05)
            return super().propose(state, n)

    env = CountdownEnv()
    result = best_first_search(env, "t50", SlowPolicy({"dec": -1.0}),
                               SearchConfig(expansions=1000, time_limit=0.2))
    assert result.status == TIMEOUT
    assert 1 <= result.stats.expansions <= 6


def test_best_first_order_follows_cumulative_logprob():
    env = CountdownEnv()
    # "fib" is likelier than "dec": the deeper goals of the likely branch come first.
    policy = ScriptedPolicy({"fib": -0.1, "dec": -3.0})
    best_first_search(env, "t4", policy, SearchConfig(expansions=4, candidates=2))
    assert policy.asked[:3] == ["4", "3", "2"]


class ValuedPolicy(ScriptedPolicy):
    """A scripted policy whose value prefers small goals (higher is better)."""

    def values(self, states) -> list[float]:
        return [-float(state.goals[0].conclusion) for state in states]


def test_the_value_alone_can_order_the_frontier():
    # From 4, "dec" (likely) gives 3 at log-probability -0.1, "fib" (unlikely) gives 3 and
    # 2 at -3.0. The log-probability, and the mixture (2: -3 - 2 < 3: -0.1 - 3), expand 3
    # next; the value alone prefers the smaller goal 2, whatever its path.
    def second(**weights) -> str:
        policy = ValuedPolicy({"dec": -0.1, "fib": -3.0})
        best_first_search(CountdownEnv(), "t4", policy,
                          SearchConfig(expansions=2, candidates=2, close_in_one_step=False,
                                       **weights))
        assert policy.asked[0] == "4"
        return policy.asked[1]

    assert second() == "3"
    assert second(value_weight=1.0) == "3"
    assert second(value_weight=1.0, logprob_weight=0.0) == "2"


def test_a_proof_the_checker_rejects_is_a_failure(monkeypatch):
    env = CountdownEnv()
    monkeypatch.setattr(env, "prove", lambda theorem, actions: Rejected("kernel says no"))
    result = best_first_search(env, "t3", ScriptedPolicy({"done": -0.1, "dec": -0.2}),
                               SearchConfig(expansions=20))
    assert result.status == CHECK_FAILED and not result.proved
    assert "kernel says no" in result.message and result.proof is None


def test_ordered_states_are_deduplicated_by_their_goals():
    env = CountdownEnv(independent=False)
    policy = ScriptedPolicy({"loop": -0.1, "dec": -0.5, "done": -0.3})
    result = best_first_search(env, "t3", policy, SearchConfig(expansions=20, candidates=3))
    assert result.status == PROVED
    assert result.proof == " ".join(result.actions) == "dec dec done"
    # "loop" gives equal goals under a new key: never a new node, never expanded twice.
    texts = [node.text for node in result.tree]
    assert len(texts) == len(set(texts))
    assert len(policy.asked) == len(set(policy.asked))


def test_result_survives_json():
    env = CountdownEnv()
    result = best_first_search(env, "t4", ScriptedPolicy({"fib": -0.2, "done": -0.1}),
                               SearchConfig(expansions=20))
    again = SearchResult.from_json(json.loads(json.dumps(result.to_json())))
    assert again == result and again.tree == result.tree


def test_config_rejects_nonsense():
    with pytest.raises(ValueError):
        SearchConfig(expansions=0)
    with pytest.raises(ValueError):
        SearchConfig(time_limit=-1)
    with pytest.raises(ValueError, match="needs a log-probability or a value"):
        SearchConfig(logprob_weight=0.0)
    with pytest.raises(ValueError, match="must not be negative"):
        SearchConfig(value_weight=-1.0)


def test_wilson_interval_known_values():
    low, high = wilson_interval(5, 10)
    assert math.isclose(low, 0.2366, abs_tol=1e-4) and math.isclose(high, 0.7634, abs_tol=1e-4)
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and math.isclose(high, 0.2775, abs_tol=1e-4)
    assert wilson_interval(0, 0) == (0.0, 0.0)


def test_summary_pass_rate_by_budget():
    def line(theorem, status, at):
        return {"method": "m", "theorem": theorem, "result": {
            "status": status, "expansions_to_proof": at,
            "stats": {"seconds": 1.0, "expansions": at or 8}}}

    lines = [line("a", PROVED, 1), line("b", PROVED, 5), line("c", BUDGET, None),
             line("d", CHECK_FAILED, 2)]
    summary = summarise(lines)
    row = summary["methods"]["m"]
    assert row["proved"] == 2 and row["check_failed"] == 1 and row["pass_rate"] == 0.5
    assert budget_points(8) == [1, 2, 4, 8]
    assert row["pass_rate_by_budget"] == {"1": 0.25, "2": 0.25, "4": 0.25, "8": 0.5}


def test_mcnemar_known_values():
    # 10 discordant theorems split 8/2: P(X <= 2 | n=10, 1/2) = 56/1024, two-sided twice that
    assert math.isclose(mcnemar_p(8, 2), 2 * 56 / 1024)
    assert mcnemar_p(2, 8) == mcnemar_p(8, 2)
    assert mcnemar_p(5, 5) == 1.0 and mcnemar_p(0, 0) == 1.0
    assert math.isclose(mcnemar_p(6, 0), 2 / 64)


def test_summary_compares_methods_on_the_same_theorems():
    def line(method, theorem, status):
        return {"method": method, "theorem": theorem, "result": {
            "status": status, "expansions_to_proof": 1 if status == PROVED else None,
            "stats": {"seconds": 1.0, "expansions": 1}}}

    lines = [line("x", t, PROVED) for t in "abcdef"] + [line("x", "g", BUDGET)]
    lines += [line("y", t, BUDGET) for t in "abcde"] + [line("y", "f", PROVED),
                                                       line("y", "g", PROVED)]
    lines += [line("z", "a", PROVED)]  # attempted one theorem only
    summary = summarise(lines)
    first = summary["paired"][0]
    assert (first["a"], first["b"], first["theorems"]) == ("x", "y", 7)
    assert (first["only_a"], first["only_b"]) == (5, 1)
    assert math.isclose(first["p_value"], mcnemar_p(5, 1))
    xz = [p for p in summary["paired"] if (p["a"], p["b"]) == ("x", "z")][0]
    assert xz["theorems"] == 1 and xz["only_a"] == xz["only_b"] == 0
    assert "5 only x, 1 only y" in format_summary(summary)


class GraphEnv:
    """Independent goals from a table: goal -> {action: sub-goals}; () closes the goal,
    an action the table lacks is rejected."""

    name = "fake"

    def __init__(self, table: dict[str, dict[str, tuple[str, ...]]]) -> None:
        self.table = table

    def _state(self, theorem: str, goals: tuple[str, ...], trail: tuple[str, ...]) -> ProofState:
        return ProofState(theorem, tuple(Goal(g) for g in goals), (theorem, goals, trail),
                          independent=True, data=(goals, trail))

    def open(self, theorem: str) -> ProofState:
        return self._state(theorem, (theorem,), ())

    def split(self, state: ProofState) -> tuple[ProofState, ...]:
        return tuple(self._state(state.theorem, (g,), ()) for g in state.data[0])

    def step(self, state: ProofState, action: str):
        goals, trail = state.data
        new = self.table.get(goals[0], {}).get(action)
        if new is None:
            return Rejected(f"{action} does not apply to {goals[0]}")
        goals, trail = new + goals[1:], (*trail, action)
        return Proved(" ".join(trail)) if not goals else Progress(
            self._state(state.theorem, goals, trail))

    def prove(self, theorem: str, actions: list[str]):
        state = self.open(theorem)
        for action in actions:
            result = self.step(state, action)
            if not isinstance(result, Progress):
                return result
            state = result.state
        return Rejected("goals left")


def test_a_goal_beside_a_dead_one_is_never_expanded():
    # "a" needs x and y, but nothing applies to x: once x is expanded and found dead, y
    # can no longer help and the search goes on with "b".
    table = {"r": {"a": ("x", "y"), "b": ("z",)}, "y": {"c": ()}, "z": {"c": ()}}
    policy = ScriptedPolicy({"a": -0.1, "b": -0.5, "c": -0.2, "dud": -0.3})
    pruned = best_first_search(GraphEnv(table), "r", policy, SearchConfig(candidates=4))
    assert pruned.status == PROVED and pruned.actions == ("b", "c")
    assert policy.asked == ["r", "x", "z"] and pruned.stats.pruned == 1
    policy.asked.clear()
    plain = best_first_search(GraphEnv(table), "r", policy,
                              SearchConfig(candidates=4, prune=False))
    assert plain.status == PROVED and policy.asked == ["r", "x", "y", "z"]
    assert plain.stats.pruned == 0


def test_a_dropped_goal_that_another_action_needs_again_is_expanded():
    # y is dropped beside the dead x; later m's action needs y again: it is queued again.
    table = {"r": {"a": ("x", "y"), "b": ("m",)}, "m": {"d": ("y",)}, "y": {"c": ()}}
    policy = ScriptedPolicy({"a": -0.1, "b": -0.5, "c": -0.2, "d": -0.3})
    result = best_first_search(GraphEnv(table), "r", policy,
                               SearchConfig(candidates=4, close_in_one_step=False))
    assert result.status == PROVED and result.actions == ("b", "d", "c")
    assert policy.asked == ["r", "x", "m", "y"] and result.stats.pruned == 1
