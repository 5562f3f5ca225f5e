"""What a search returns: the proof or why it stopped, statistics, and the search tree.

Everything here is plain data (frozen dataclasses of strings and numbers), so a result can
be written as one JSON line (``to_json``) and read back (``from_json``) by the benchmark
runner and the HTML report without importing any prover.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Why a search stopped. "proved" is the only success, and only after the final check.
PROVED = "proved"
EXHAUSTED = "exhausted"  # no unexpanded node left: the policy has nothing more to offer
BUDGET = "budget"  # the expansion budget was spent
TIMEOUT = "timeout"  # the wall-clock limit was reached
CHECK_FAILED = "check_failed"  # a proof was found but a checker rejected it: a bug
ERROR = "error"  # the prover crashed or the theorem could not be opened
STOP_REASONS = (PROVED, EXHAUSTED, BUDGET, TIMEOUT, CHECK_FAILED, ERROR)


@dataclass(frozen=True)
class TreeEdge:
    """One action tried from a node: what happened, and the child node(s) it led to."""

    action: str
    logprob: float
    outcome: str  # "progress", "proved", "rejected", "duplicate", "timeout"
    children: tuple[int, ...] = ()  # node ids (Metamath: every sub-goal, an AND node)
    detail: str = ""  # the prover's reason for a rejection (shortened)


@dataclass(frozen=True)
class TreeNode:
    """A node of the search tree: one goal (Metamath) or one proof state (Coq)."""

    id: int
    parent: int | None  # the node whose expansion first produced this one
    text: str  # the goal or the printed state
    score: float  # the priority it was queued with (cumulative log-probability, +value)
    logprob: float  # cumulative log-probability of the path that reached it
    depth: int
    expanded: bool
    proved: bool
    edges: tuple[TreeEdge, ...] = ()


@dataclass(frozen=True)
class SearchStats:
    expansions: int
    prover_calls: int
    policy_calls: int
    nodes: int
    seconds: float
    policy_seconds: float
    prover_seconds: float
    pruned: int = 0  # queued goals dropped unexpanded: they could no longer help


@dataclass(frozen=True)
class SearchResult:
    """The outcome of one proof attempt.

    ``proof`` is set only when ``status == "proved"``: the backend's checked proof (a
    Metamath normal proof, or Coq's ``Proof. ... Qed.`` script). ``actions`` is the list of
    actions that produce it from ``open(theorem)``. ``checks`` records each independent
    checker's verdict (e.g. ``{"kernel": "ok", "metamath-exe": "ok"}``).
    """

    theorem: str
    status: str
    proof: str | None = None
    actions: tuple[str, ...] = ()
    message: str = ""
    stats: SearchStats = field(default_factory=lambda: SearchStats(0, 0, 0, 0, 0.0, 0.0, 0.0))
    checks: dict[str, str] = field(default_factory=dict, compare=False)
    tree: tuple[TreeNode, ...] = field(default=(), compare=False, repr=False)
    # expansions spent when the proof was found (for pass rate against budget curves)
    expansions_to_proof: int | None = None
    # Coq: sentences the proof needs just before the statement (CoqHammer's import)
    preamble: tuple[str, ...] = ()

    @property
    def proved(self) -> bool:
        return self.status == PROVED

    def to_json(self, with_tree: bool = True) -> dict[str, Any]:
        data = asdict(self)
        if not with_tree:
            data["tree"] = []
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SearchResult:
        tree = tuple(
            TreeNode(**{**node, "edges": tuple(TreeEdge(**{**edge, "children": tuple(edge["children"])})
                                               for edge in node.get("edges", ()))})
            for node in data.get("tree", ()))
        return cls(theorem=data["theorem"], status=data["status"], proof=data.get("proof"),
                   actions=tuple(data.get("actions", ())), message=data.get("message", ""),
                   stats=SearchStats(**data["stats"]), checks=dict(data.get("checks", {})),
                   tree=tree, expansions_to_proof=data.get("expansions_to_proof"),
                   preamble=tuple(data.get("preamble", ())))

    def with_check(self, name: str, verdict: str, failed: bool = False) -> SearchResult:
        """A copy with one more checker verdict; ``failed`` turns the result into a failure
        (a proof a checker rejects is never a success)."""
        from dataclasses import replace

        checks = {**self.checks, name: verdict}
        if failed:
            return replace(self, status=CHECK_FAILED, checks=checks,
                           message=f"{name} rejected the proof: {verdict}")
        return replace(self, checks=checks)
