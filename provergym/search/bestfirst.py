"""Best-first proof search over state handles, as in GPT-f.

The frontier is a priority queue of unexpanded nodes ordered by the cumulative
log-probability of the actions that reached them (optionally plus ``value_weight`` times
the policy's value; ``logprob_weight`` 0 with a value weight orders by the value alone, as
GPT-f did after expert iteration). Expanding a node asks the policy for ``candidates`` actions and runs
each through the backend. A search stops when the theorem is proved, after ``expansions``
expansions, after ``time_limit`` seconds, or when nothing is left to expand.

Two shapes of search, chosen by the backend's states:

- **independent goals** (Metamath, ``state.independent``): a node is one goal. An action
  leads to an AND node of sub-goals (``env.split``); a goal is proved when every sub-goal of
  one of its actions is proved. Goals are memoised by their text within an attempt, so each
  is solved once and shared. The proof is then rebuilt as a list of actions in pre-order
  and replayed from ``env.open(theorem)`` with ``env.prove``, whose ``Proved`` is checked by
  the kernel: a sub-goal's ``Proved`` never counts by itself. A new sub-goal that one of
  the theorem's hypotheses states is closed at once by citing it (a prover call, not an
  expansion), unless ``close_by_hypothesis`` is off.
- **ordered goals** (Coq): a node is a whole proof state, goals in the order the prover
  shows them. States are deduplicated by their printed goals (Coq's state keys are unique
  per step, so equal goals reached twice would otherwise be expanded twice).
"""

from __future__ import annotations

import heapq
import inspect
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from provergym.api import (
    InitError,
    Progress,
    ProofState,
    Proved,
    ProverCrash,
    ProverError,
    ProverTimeout,
    Rejected,
)
from provergym.search.policies import Policy
from provergym.search.result import (
    BUDGET,
    CHECK_FAILED,
    ERROR,
    EXHAUSTED,
    PROVED,
    TIMEOUT,
    SearchResult,
    SearchStats,
    TreeEdge,
    TreeNode,
)


@dataclass(frozen=True)
class SearchConfig:
    expansions: int = 32  # d: expansions per attempt
    candidates: int = 8  # e: actions asked of the policy per expansion
    time_limit: float = 60.0  # wall-clock seconds per attempt
    step_timeout: float = 5.0  # seconds per prover call (backends whose step takes one)
    value_weight: float = 0.0  # 0: cumulative log-probability only
    # weight of the cumulative log-probability in the priority (0 with a value weight:
    # the value alone)
    logprob_weight: float = 1.0
    # independent goals (Metamath): a new goal that a hypothesis of the theorem states is
    # closed by citing it, without spending an expansion
    close_by_hypothesis: bool = True
    # ... and one that a single step closes outright (the policy's ``closing``), likewise
    close_in_one_step: bool = True
    # independent goals: never expand a goal that can no longer help prove the theorem
    # (every AND node that needs it has a dead or proved sibling path; see _live)
    prune: bool = True
    keep_tree: bool = True  # record the search tree in the result
    max_text: int = 2000  # characters of goal text kept per tree node

    def __post_init__(self) -> None:
        if self.expansions < 1 or self.candidates < 1:
            raise ValueError("expansions and candidates must be at least 1")
        if self.time_limit <= 0 or self.step_timeout <= 0:
            raise ValueError("time_limit and step_timeout must be positive")
        if self.logprob_weight < 0 or self.value_weight < 0:
            raise ValueError("logprob_weight and value_weight must not be negative")
        if self.logprob_weight == 0 and self.value_weight == 0:
            raise ValueError("a priority needs a log-probability or a value weight")


@dataclass
class _Node:
    id: int
    parent: int | None
    state: ProofState
    text: str
    logprob: float
    score: float
    depth: int
    expanded: bool = False
    proved: bool = False
    dead: bool = False  # expanded, and no action it has can ever prove it
    edges: list[dict[str, Any]] = field(default_factory=list)
    proof_edge: int | None = None  # index into edges of the action that proved it


class _Stop(Exception):
    def __init__(self, status: str, message: str = ""):
        super().__init__(message)
        self.status, self.message = status, message


class BestFirstSearch:
    """One proof attempt. Use :func:`best_first_search`; this class holds its bookkeeping."""

    def __init__(self, env: Any, policy: Policy, config: SearchConfig) -> None:
        self.env, self.policy, self.config = env, policy, config
        self.nodes: list[_Node] = []
        self.heap: list[tuple[float, int, int]] = []
        self.by_key: dict[Any, int] = {}
        # Metamath: child node -> [(parent node, edge index)] for proof propagation
        self.users: dict[int, list[tuple[int, int]]] = {}
        self.expansions = self.prover_calls = self.policy_calls = self.pruned = 0
        self.policy_seconds = self.prover_seconds = 0.0
        self.start = time.perf_counter()
        self.expansions_to_proof: int | None = None
        self._step_takes_timeout = _accepts_timeout(env.step)
        closing = getattr(policy, "closing", None)
        self._closing: Callable[[ProofState], Sequence[str]] | None = (
            closing if config.close_in_one_step and callable(closing) else None)
        values = getattr(policy, "values", None)
        self._values: Callable[[Sequence[ProofState]], list[float]] | None = (
            values if config.value_weight and callable(values) else None)

    # -- bookkeeping -------------------------------------------------------------------
    def _elapsed(self) -> float:
        return time.perf_counter() - self.start

    def _add(self, state: ProofState, key: Any, parent: int | None, logprob: float,
             depth: int, text: str) -> int:
        node = _Node(len(self.nodes), parent, state, text[:self.config.max_text], logprob,
                     logprob, depth)
        self.nodes.append(node)
        self.by_key[key] = node.id
        return node.id

    def _push(self, ids: list[int]) -> None:
        """Queue new nodes, with the value mixed in when asked (one batched call)."""
        if self._values is not None and ids:
            started = time.perf_counter()
            scores = self._values([self.nodes[i].state for i in ids])
            self.policy_seconds += time.perf_counter() - started
            for i, value in zip(ids, scores):
                self.nodes[i].score = (self.config.logprob_weight * self.nodes[i].logprob
                                       + self.config.value_weight * value)
        for i in ids:
            heapq.heappush(self.heap, (-self.nodes[i].score, i, i))

    def _propose(self, state: ProofState) -> list[tuple[str, float]]:
        started = time.perf_counter()
        try:
            proposals = self.policy.propose(state, self.config.candidates)
        finally:
            self.policy_seconds += time.perf_counter() - started
            self.policy_calls += 1
        seen: set[str] = set()
        out = []
        for action, logprob in proposals:  # a policy may repeat itself; try each once
            if action not in seen and math.isfinite(logprob):
                seen.add(action)
                out.append((action, float(logprob)))
        return out[:self.config.candidates]

    def _step(self, state: ProofState, action: str) -> Progress | Proved | Rejected | str:
        """The backend's answer, or "timeout" when the prover had to be interrupted."""
        started = time.perf_counter()
        self.prover_calls += 1
        try:
            if self._step_takes_timeout:
                return self.env.step(state, action, timeout=self.config.step_timeout)
            return self.env.step(state, action)
        except ProverTimeout:
            return "timeout"
        except ProverCrash as error:
            raise _Stop(ERROR, f"prover crashed: {error}") from error
        finally:
            self.prover_seconds += time.perf_counter() - started

    def _next(self, live: set[int] | None = None) -> _Node | None:
        """The best queued node not yet expanded; with ``live``, one of those (the others
        are dropped: a goal leaves the live set for good, unless an expansion reaches it
        again, and then it is queued again)."""
        while self.heap:
            _, _, node_id = heapq.heappop(self.heap)
            node = self.nodes[node_id]
            if node.expanded or node.proved:
                continue
            if live is not None and node_id not in live:
                self.pruned += 1
                continue
            return node
        return None

    def _alive(self, edge: dict[str, Any]) -> bool:
        """An AND node that may still prove its goal: it made progress and no sub-goal of
        it is dead."""
        return edge["outcome"] == "progress" and not any(self.nodes[c].dead
                                                         for c in edge["children"])

    def _mark_dead(self, node_id: int) -> None:
        """After a complete expansion: a goal none of whose actions can still prove it is
        dead, and so is every goal whose actions all need a dead one (propagated up)."""
        work = [node_id]
        while work:
            node = self.nodes[work.pop()]
            if node.dead or node.proved or not node.expanded:
                continue
            if any(self._alive(edge) for edge in node.edges):
                continue
            node.dead = True
            work.extend(user for user, _ in self.users.get(node.id, ()))

    def _live(self, root_id: int) -> set[int]:
        """The goals that can still help prove the root: reachable from it through goals
        not yet proved and AND nodes still alive. A sub-goal of an action whose sibling is
        dead, or of a goal already proved another way, is not among them."""
        live = {root_id}
        stack = [root_id]
        while stack:
            node = self.nodes[stack.pop()]
            if node.proved or not node.expanded:
                continue
            for edge in node.edges:
                if self._alive(edge):
                    for child in edge["children"]:
                        if child not in live and not self.nodes[child].proved:
                            live.add(child)
                            stack.append(child)
        return live

    def _check_budget(self) -> None:
        if self.expansions >= self.config.expansions:
            raise _Stop(BUDGET, f"{self.expansions} expansions spent")
        if self._elapsed() >= self.config.time_limit:
            raise _Stop(TIMEOUT, f"wall-clock limit of {self.config.time_limit:g} s")

    # -- the two search shapes -------------------------------------------------------------
    def run(self, theorem: str) -> SearchResult:
        try:
            root_state = self.env.open(theorem)
        except (InitError, ProverError) as error:
            return self._result(theorem, ERROR, message=str(error))
        independent = bool(root_state.independent) and hasattr(self.env, "split")
        try:
            if independent:
                return self._run_and_or(theorem, root_state)
            return self._run_sequential(theorem, root_state)
        except _Stop as stop:
            return self._result(theorem, stop.status, message=stop.message)

    def _run_sequential(self, theorem: str, root: ProofState) -> SearchResult:
        self._push([self._add(root, _goals_key(root), None, 0.0, 0, root.pretty())])
        while True:
            self._check_budget()
            node = self._next()
            if node is None:
                raise _Stop(EXHAUSTED, "no state left to expand")
            node.expanded = True
            self.expansions += 1
            new_ids = []
            for action, logprob in self._propose(node.state):
                if self._elapsed() >= self.config.time_limit:
                    break
                result = self._step(node.state, action)
                edge = self._edge(action, logprob, result)
                node.edges.append(edge)
                if isinstance(result, Proved):
                    node.proved = True
                    node.proof_edge = len(node.edges) - 1
                    self.expansions_to_proof = self.expansions
                    actions = self._sequential_actions(node, action)
                    return self._result(theorem, PROVED, proof=result.proof, actions=actions,
                                        checks={"backend": "ok"})
                if isinstance(result, Progress):
                    key = _goals_key(result.state)
                    if key in self.by_key:
                        edge["outcome"], edge["children"] = "duplicate", [self.by_key[key]]
                        continue
                    child = self._add(result.state, key, node.id, node.logprob + logprob,
                                      node.depth + 1, result.state.pretty())
                    edge["children"] = [child]
                    new_ids.append(child)
            self._push(new_ids)

    def _sequential_actions(self, node: _Node, last: str) -> tuple[str, ...]:
        actions = [last]
        while node.parent is not None:
            parent = self.nodes[node.parent]
            actions.append(next(e["action"] for e in parent.edges
                                if e["outcome"] == "progress" and node.id in e["children"]))
            node = parent
        return tuple(reversed(actions))

    def _run_and_or(self, theorem: str, root: ProofState) -> SearchResult:
        root_id = self._add(root, root.goals[0].conclusion, None, 0.0, 0, root.goals[0].conclusion)
        self._push([root_id])
        while not self.nodes[root_id].proved:
            self._check_budget()
            node = self._next(self._live(root_id) if self.config.prune else None)
            if node is None:
                raise _Stop(EXHAUSTED, "no goal left to expand")
            node.expanded = True
            self.expansions += 1
            new_ids = []
            complete = True
            for action, logprob in self._propose(node.state):
                if node.proved:
                    break
                if self._elapsed() >= self.config.time_limit:
                    complete = False
                    break
                result = self._step(node.state, action)
                edge = self._edge(action, logprob, result)
                node.edges.append(edge)
                edge_index = len(node.edges) - 1
                if isinstance(result, Proved):
                    self._mark_proved(node.id, edge_index)
                    continue
                if not isinstance(result, Progress):
                    continue
                children = []
                for sub in self.env.split(result.state):
                    text = sub.goals[0].conclusion
                    child = self.by_key.get(text)
                    if child is None:
                        child = self._add(sub, text, node.id, node.logprob + logprob,
                                          node.depth + 1, text)
                        if not self._close_by_hypothesis(child):
                            new_ids.append(child)
                    elif not self.nodes[child].expanded and not self.nodes[child].proved:
                        new_ids.append(child)  # queued again: it may have been dropped
                    children.append(child)
                    self.users.setdefault(child, []).append((node.id, edge_index))
                edge["children"] = children
                if node.id in children:
                    edge["outcome"] = "duplicate"  # the goal again among its own sub-goals
                elif all(self.nodes[c].proved for c in children):
                    self._mark_proved(node.id, edge_index)
            if complete:
                self._mark_dead(node.id)
            self._push([i for i in dict.fromkeys(new_ids) if not self.nodes[i].proved])
        self.expansions_to_proof = self.expansions
        return self._replay(theorem, root_id)

    def _close_by_hypothesis(self, node_id: int) -> bool:
        """Close a new goal at once, without spending an expansion (each try is a prover
        call): by citing a hypothesis of the theorem that states it
        (``SearchConfig.close_by_hypothesis``), or, when ``SearchConfig.close_in_one_step``
        is on and the policy has ``closing(state) -> [action]``, by one of the steps that
        close it outright. Every step still goes through the backend and the final replay."""
        node = self.nodes[node_id]
        goal = node.state.goals[0]
        tries: list[str] = []
        if self.config.close_by_hypothesis:
            tries = [h.name for h in goal.hypotheses if h.type == goal.conclusion]
        if not tries and self._closing is not None:
            started = time.perf_counter()
            tries = list(self._closing(node.state))[:self.config.candidates]
            self.policy_seconds += time.perf_counter() - started
        for action in tries:
            result = self._step(node.state, action)
            node.edges.append(self._edge(action, 0.0, result))
            if isinstance(result, Proved):
                node.expanded = True
                self._mark_proved(node_id, len(node.edges) - 1)
                return True
        return False

    def _mark_proved(self, node_id: int, edge_index: int) -> None:
        """Mark a goal proved and propagate to every AND node now complete. A goal is
        proved only from sub-goals proved before it, so the proof is well founded."""
        work = [(node_id, edge_index)]
        while work:
            node_id, edge_index = work.pop()
            node = self.nodes[node_id]
            if node.proved:
                continue
            node.proved, node.proof_edge = True, edge_index
            for user, user_edge in self.users.get(node_id, ()):
                parent = self.nodes[user]
                edge = parent.edges[user_edge]
                if (not parent.proved and edge["outcome"] == "progress"
                        and all(self.nodes[c].proved for c in edge["children"])):
                    work.append((user, user_edge))

    def _replay(self, theorem: str, root_id: int) -> SearchResult:
        """The proof's actions in pre-order, replayed from the root for the kernel check."""
        actions: list[str] = []
        stack = [root_id]
        while stack:
            node = self.nodes[stack.pop()]
            edge = node.edges[node.proof_edge]  # type: ignore[index]
            actions.append(edge["action"])
            stack.extend(reversed(edge["children"]))
        started = time.perf_counter()
        final = self.env.prove(theorem, actions)
        self.prover_seconds += time.perf_counter() - started
        if isinstance(final, Proved):
            return self._result(theorem, PROVED, proof=final.proof, actions=tuple(actions),
                                checks={"kernel": "ok"})
        # Sub-goal proofs are not kernel-checked; a replay failure is a bug, never a proof.
        return self._result(theorem, CHECK_FAILED, actions=tuple(actions),
                            message=f"the kernel rejected the replayed proof: {final.reason}",
                            checks={"kernel": final.reason})

    # -- results ---------------------------------------------------------------------------
    @staticmethod
    def _edge(action: str, logprob: float, result: Any) -> dict[str, Any]:
        if isinstance(result, Proved):
            return {"action": action, "logprob": logprob, "outcome": "proved", "children": []}
        if isinstance(result, Progress):
            return {"action": action, "logprob": logprob, "outcome": "progress", "children": []}
        if isinstance(result, Rejected):
            return {"action": action, "logprob": logprob, "outcome": "rejected",
                    "children": [], "detail": result.reason[:200]}
        return {"action": action, "logprob": logprob, "outcome": "timeout", "children": []}

    def _result(self, theorem: str, status: str, *, proof: str | None = None,
                actions: tuple[str, ...] = (), message: str = "",
                checks: dict[str, str] | None = None) -> SearchResult:
        stats = SearchStats(expansions=self.expansions, prover_calls=self.prover_calls,
                            policy_calls=self.policy_calls, nodes=len(self.nodes),
                            pruned=self.pruned,
                            seconds=round(self._elapsed(), 4),
                            policy_seconds=round(self.policy_seconds, 4),
                            prover_seconds=round(self.prover_seconds, 4))
        tree: tuple[TreeNode, ...] = ()
        if self.config.keep_tree:
            tree = tuple(
                TreeNode(id=n.id, parent=n.parent, text=n.text, score=round(n.score, 4),
                         logprob=round(n.logprob, 4), depth=n.depth, expanded=n.expanded,
                         proved=n.proved,
                         edges=tuple(TreeEdge(action=e["action"], logprob=round(e["logprob"], 4),
                                              outcome=e["outcome"], children=tuple(e["children"]),
                                              detail=e.get("detail", "")) for e in n.edges))
                for n in self.nodes)
        return SearchResult(theorem=theorem, status=status, proof=proof, actions=actions,
                            message=message, stats=stats, checks=dict(checks or {}), tree=tree,
                            expansions_to_proof=self.expansions_to_proof if status in
                            (PROVED, CHECK_FAILED) else None)


def _goals_key(state: ProofState) -> Any:
    # Goals compare by their printed text and hypotheses (Goal.data does not count).
    return (state.theorem, state.goals)


def _accepts_timeout(step: Callable[..., Any]) -> bool:
    try:
        return "timeout" in inspect.signature(step).parameters
    except (TypeError, ValueError):
        return False


def best_first_search(env: Any, theorem: str, policy: Policy,
                      config: SearchConfig | None = None) -> SearchResult:
    """Search for a proof of ``theorem`` in ``env`` (a Backend) guided by ``policy``.

    Never raises for a failed attempt: the result says why it stopped. A Metamath proof
    in the result has been replayed from the root and accepted by the kernel.
    """
    return BestFirstSearch(env, policy, config or SearchConfig()).run(theorem)
