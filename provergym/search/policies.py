"""Policies that use no trained model (the baselines), and adapters for the model.

Every policy has ``propose(state, n) -> [(action, logprob)]``, best first.

- :class:`FrequencyPolicy` (Metamath): the labels whose conclusion unifies with the goal and
  that bring in no new variable (every variable of the label occurs in its conclusion, so
  unification fixes the whole substitution), ranked by how often the training split's
  proofs use them. The goal's own ``$e`` hypotheses come first when one states the goal.
- :class:`UniformPolicy` (Metamath): the same candidates in a random order (seeded by the
  goal text, so runs repeat), each with the same log-probability.
- :class:`FixedTactics` (Coq): a fixed list of tactics, the same for every state.
- :class:`WithFallback`: another policy's proposals plus fixed actions (e.g. the model with
  ``sauto`` as a fallback tactic).
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from provergym.api import ProofState

COQ_TACTICS = ("reflexivity.", "assumption.", "trivial.", "auto.", "intros.", "split.",
               "simpl.", "easy.", "tauto.", "congruence.", "constructor.", "intuition.",
               "eauto.", "discriminate.", "lia.")


def training_label_counts(db: Any, theorems: Iterable[str], syntax_typecodes: Iterable[str]) -> Counter:
    """How often each logical label (an ``$a``/``$p`` that proves no syntax typecode) is
    cited by the proofs of ``theorems`` (a shared sub-proof counts once)."""
    from provergym.metamath.prooftree import ProofTreeError, proof_labels

    syntax = set(syntax_typecodes)
    statements = db.statements
    counts: Counter = Counter()
    for label in theorems:
        statement = statements.get(label)
        if statement is None or statement.kind != "p":
            continue
        try:
            steps = proof_labels(db, statement)
        except ProofTreeError:
            continue  # an incomplete proof teaches nothing
        for step in steps:
            if isinstance(step, str) and step != "Z":
                cited = statements.get(step)
                if cited is not None and cited.kind in "ap" and cited.typecode not in syntax:
                    counts[step] += 1
    return counts


class _Candidates:
    """Labels indexed by the head of their conclusion's syntax tree, compiled lazily."""

    def __init__(self, env: Any, labels: Sequence[str]) -> None:
        self.env = env
        self.by_head: dict[tuple[str, str], list[str]] = {}
        self.wildcards: dict[str, list[str]] = {}  # conclusion is a bare variable
        self.order = {label: i for i, label in enumerate(labels)}
        for label in labels:
            pattern = env.pattern(label)
            if isinstance(pattern, str) or not _binds_everything(pattern):
                continue
            typecode = pattern.statement.typecode
            head = pattern.conclusion.label
            if head in pattern.var_of_float:
                self.wildcards.setdefault(typecode, []).append(label)
            else:
                self.by_head.setdefault((typecode, head), []).append(label)

    def matching(self, state: ProofState) -> list[str]:
        """Candidate labels for the first goal, in the index's order (frequency)."""
        goal = state.goals[0]
        tree = goal.data
        typecode = goal.conclusion.split(" ", 1)[0]
        theorem = self.env.db.statements[state.theorem]
        labels = self.by_head.get((typecode, tree.label), []) + self.wildcards.get(typecode, [])
        labels.sort(key=self.order.__getitem__)
        out = []
        for label in labels:
            pattern = self.env.pattern(label)
            if pattern.statement.index >= theorem.index:
                continue  # only earlier statements may be used
            if self.env.match_pattern(pattern, pattern.conclusion, tree, {}):
                out.append(label)
        return out


def _binds_everything(pattern: Any) -> bool:
    """Whether unifying the conclusion fixes every variable of the label."""
    found: set[str] = set()
    stack = [pattern.conclusion]
    while stack:
        node = stack.pop()
        var = pattern.var_of_float.get(node.label)
        if var is not None:
            found.add(var)
        stack.extend(node.children)
    return all(v in found for v in pattern.variables)


def _hypotheses_stating(state: ProofState) -> list[str]:
    goal = state.goals[0]
    return [h.name for h in goal.hypotheses if h.type == goal.conclusion]


class FrequencyPolicy:
    """Metamath, no model: matching labels ranked by their use in training proofs."""

    def __init__(self, env: Any, counts: Counter, labels: Sequence[str] | None = None) -> None:
        if labels is None:
            labels = [label for label, _ in counts.most_common()]
        self.counts = counts
        self.total = sum(counts.values()) + len(labels)
        self.candidates = _Candidates(env, sorted(labels, key=lambda x: -counts.get(x, 0)))

    def propose(self, state: ProofState, n: int) -> list[tuple[str, float]]:
        out = [(label, 0.0) for label in _hypotheses_stating(state)]
        for label in self.candidates.matching(state):
            if len(out) >= n:
                break
            out.append((label, math.log((self.counts.get(label, 0) + 1) / self.total)))
        return out[:n]


class UniformPolicy:
    """Metamath, no model: matching labels in a random order, all equally likely."""

    def __init__(self, env: Any, labels: Sequence[str], seed: int = 0) -> None:
        self.seed = seed
        self.candidates = _Candidates(env, list(labels))

    def propose(self, state: ProofState, n: int) -> list[tuple[str, float]]:
        hyps = _hypotheses_stating(state)
        labels = self.candidates.matching(state)
        digest = hashlib.sha256(f"{self.seed}\0{state.goals[0].conclusion}".encode()).digest()
        random.Random(digest).shuffle(labels)
        options = hyps + labels
        if not options:
            return []
        logprob = -math.log(len(options))
        return [(label, logprob) for label in options[:n]]


class FixedTactics:
    """Coq, no model: the same tactics for every state, equally likely."""

    def __init__(self, tactics: Sequence[str] = COQ_TACTICS) -> None:
        self.tactics = tuple(tactics)

    def propose(self, state: ProofState, n: int) -> list[tuple[str, float]]:
        logprob = -math.log(len(self.tactics))
        return [(tactic, logprob) for tactic in self.tactics[:n]]


class WithFallback:
    """``policy``'s proposals, then ``fallback`` actions it did not already propose (they
    are tried last at every expansion, with log-probability ``fallback_logprob``)."""

    def __init__(self, policy: Any, fallback: Sequence[str] = ("sauto.",),
                 fallback_logprob: float = -3.0) -> None:
        self.policy, self.fallback, self.fallback_logprob = policy, tuple(fallback), fallback_logprob
        if hasattr(policy, "values"):
            self.values = policy.values

    def propose(self, state: ProofState, n: int) -> list[tuple[str, float]]:
        proposals = list(self.policy.propose(state, n))
        seen = {action for action, _ in proposals}
        return proposals + [(a, self.fallback_logprob) for a in self.fallback if a not in seen]


def canonical_metamath_action(env: Any, theorem: str, action: str) -> str | None:
    """The action with the substitutions that unification decides anyway left out, or None
    when it can never apply here (unknown label, a later statement, another theorem's
    hypothesis). A small model often gets such substitutions wrong (``{{ ps : ps }}``),
    and a wrong one makes the environment refuse an otherwise good step; the environment
    still checks everything that is left."""
    from provergym.metamath.env import parse_action

    try:
        parsed = parse_action(action)
    except ValueError:
        return None
    statements = env.db.statements
    statement = statements.get(parsed.label)
    target = statements.get(theorem)
    if statement is None or target is None or statement.index >= target.index:
        return None
    if statement.kind == "e":
        hypotheses = {h.name for h in env.theorem(theorem).hypotheses}
        return parsed.label if parsed.label in hypotheses else None
    if statement.kind not in "ap":
        return None
    pattern = env.pattern(parsed.label)
    if isinstance(pattern, str):
        return None
    bound: set[str] = set()
    stack = [pattern.conclusion]
    while stack:
        node = stack.pop()
        var = pattern.var_of_float.get(node.label)
        if var is not None:
            bound.add(var)
        stack.extend(node.children)
    kept: dict[str, str] = {}
    for var, expression in parsed.substitution:
        if var in pattern.float_typecode and var not in bound and var not in kept:
            kept[var] = expression
    return str(type(parsed)(parsed.label, tuple(kept.items())))


class ModelPolicy:
    """The trained model (``agents.policy.Policy``) behind the search protocol.

    With ``env`` (a MetamathEnv), proposals are made canonical
    (:func:`canonical_metamath_action`): the model is asked for ``oversample * n``
    candidates, the ones that cannot apply are dropped, equal ones merged (best
    log-probability kept), and the ``n`` best returned."""

    def __init__(self, model_dir: str, device: str | None = None, threads: int = 1,
                 env: Any = None, oversample: int = 2) -> None:
        import torch

        from agents.policy import Policy

        if threads:
            torch.set_num_threads(threads)  # the machine is shared; one thread per worker
        self.model = Policy.load(model_dir, device=device)
        self.env, self.oversample = env, max(1, oversample)

    def propose(self, state: ProofState, n: int) -> list[tuple[str, float]]:
        if self.env is None:
            return self.model.propose(state, n)
        best: dict[str, float] = {}
        for action, logprob in self.model.propose(state, n * self.oversample):
            canonical = canonical_metamath_action(self.env, state.theorem, action)
            if canonical is not None and logprob > best.get(canonical, -math.inf):
                best[canonical] = logprob
        return sorted(best.items(), key=lambda pair: -pair[1])[:n]

    def values(self, states: Sequence[ProofState]) -> list[float]:
        return self.model.values(list(states))
