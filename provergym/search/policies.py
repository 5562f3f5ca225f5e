"""What the search engine needs from policies and backends, stated as protocols, and the
backend-neutral policy combinators.

The engine (:mod:`provergym.search.bestfirst`) imports no backend and no model: a backend
or a model-backed policy satisfies these protocols by shape, not by inheritance.

- :class:`Policy`: ``propose(state, n) -> [(action, logprob)]``, best first.
- :class:`ValuedPolicy`: a policy with ``values(states) -> [float]`` (higher: more likely
  provable), used when ``SearchConfig.value_weight`` is set.
- :class:`ClosingPolicy`: a policy with ``closing(state) -> [action]``, the actions that
  close a goal outright (tried before any expansion when ``close_in_one_step`` is on).
- :class:`AndGoalBackend`: a backend whose goals are independent (Metamath): ``split``
  turns a state into one state per goal, and ``prove`` replays a whole proof.
- :class:`WithFallback`: another policy's proposals plus fixed actions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from provergym.api import Backend, ProofState, Proved, Rejected


@runtime_checkable
class Policy(Protocol):
    """What search needs from a policy."""

    def propose(self, state: ProofState, n: int) -> list[tuple[str, float]]: ...


@runtime_checkable
class ValuedPolicy(Policy, Protocol):
    """A policy that also estimates how likely each state is to be proved."""

    def values(self, states: Sequence[ProofState]) -> list[float]: ...


@runtime_checkable
class ClosingPolicy(Policy, Protocol):
    """A policy that knows the actions closing a goal in one step."""

    def closing(self, state: ProofState) -> list[str]: ...


@runtime_checkable
class AndGoalBackend(Backend, Protocol):
    """A backend whose states' goals are proved independently (``state.independent``)."""

    def split(self, state: ProofState) -> tuple[ProofState, ...]: ...

    def prove(self, theorem: str, actions: list[str]) -> Proved | Rejected: ...


class WithFallback:
    """``policy``'s proposals, then ``fallback`` actions it did not already propose (they
    are tried last at every expansion, with log-probability ``fallback_logprob``). The
    fallback takes its slots out of the ``n`` candidates: the policy is asked for
    ``n - len(fallback)``, so the search's cut to ``n`` never drops the fallback."""

    def __init__(self, policy: Policy, fallback: Sequence[str] = ("sauto.",),
                 fallback_logprob: float = -3.0) -> None:
        self.policy, self.fallback, self.fallback_logprob = policy, tuple(fallback), fallback_logprob
        if hasattr(policy, "values"):
            self.values = policy.values

    def propose(self, state: ProofState, n: int) -> list[tuple[str, float]]:
        room = n - len(self.fallback)
        proposals = list(self.policy.propose(state, room))[:room] if room > 0 else []
        seen = {action for action, _ in proposals}
        rest = [(a, self.fallback_logprob) for a in self.fallback if a not in seen]
        return (proposals + rest)[:n]
