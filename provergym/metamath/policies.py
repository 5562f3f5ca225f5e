"""Metamath policies that use no trained model (the baselines), and the training
statistics they and the model read.

Every policy has ``propose(state, n) -> [(action, logprob)]``, best first, and
``closing(state)`` (:class:`provergym.search.policies.ClosingPolicy`).

- :class:`FrequencyPolicy`: the applicable actions of
  :class:`~provergym.metamath.actions.ApplicableActions` (labels whose conclusion unifies
  with the goal; variables the conclusion leaves open are fixed by unifying the label's
  hypotheses with the theorem's), labels ranked by how often the training split's proofs
  use them. The goal's own ``$e`` hypotheses come first when one states the goal, then
  the steps that close the goal outright (every hypothesis they need is the theorem's).
- :class:`UniformPolicy`: the same candidates in a random order (seeded by the goal text,
  so runs repeat), each with the same log-probability.
- :func:`training_label_counts` and :func:`training_lemma_table`: what the training
  proofs say (label frequencies; the lemmas that proved each hypothesis of a label).

The model's policy (``agents.search_policies.MetamathModelPolicy``) ranks the same
candidates.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from provergym.api import ProofState
from provergym.metamath.actions import (
    DEFAULT_CANDIDATES,
    ApplicableActions,
    CandidateConfig,
    LemmaTable,
    hypotheses_stating,
)
from provergym.metamath.prooftree import ProofTreeError, proof_labels


def training_label_counts(db: Any, theorems: Iterable[str], syntax_typecodes: Iterable[str]) -> Counter:
    """How often each logical label (an ``$a``/``$p`` that proves no syntax typecode) is
    cited by the proofs of ``theorems`` (a shared sub-proof counts once)."""
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


def training_lemma_table(db: Any, theorems: Iterable[str], syntax_typecodes: Iterable[str],
                         keep: int = 32) -> dict[str, tuple[tuple[tuple[str, float], ...], ...]]:
    """For :class:`~provergym.metamath.actions.ApplicableActions`'s lemma look-ahead: label ->
    per hypothesis (in the label's hypothesis order; () for a ``$f`` or a syntactic one)
    the ``keep`` assertions that most often prove that hypothesis in the proofs of
    ``theorems``, each with its share (a log). Read from the proofs' label stacks alone,
    so it is cheap; a shared sub-proof counts once per use."""
    syntax = set(syntax_typecodes)
    statements = db.statements
    logical: dict[str, tuple[bool, ...]] = {}  # label -> which hypotheses are logical

    def shape(label: str) -> tuple[bool, ...]:
        found = logical.get(label)
        if found is None:
            found = logical[label] = tuple(
                statements[h].kind == "e" and statements[h].typecode not in syntax
                for h in statements[label].hypotheses)
        return found

    counts: dict[tuple[str, int], Counter] = {}
    for name in theorems:
        statement = statements.get(name)
        if statement is None or statement.kind != "p":
            continue
        try:
            steps = proof_labels(db, statement)
        except ProofTreeError:
            continue
        stack: list[str] = []
        saved: list[str] = []
        try:
            for step in steps:
                if step == "Z":
                    saved.append(stack[-1])
                elif isinstance(step, int):
                    stack.append(saved[step])
                else:
                    cited = statements[step]
                    if cited.kind in "ap":
                        which = shape(step)
                        n = len(which)
                        children = stack[len(stack) - n:] if n else []
                        if len(children) != n:
                            raise IndexError(step)
                        del stack[len(stack) - n:]
                        for i, (is_logical, child) in enumerate(zip(which, children)):
                            if is_logical and statements[child].kind in "ap":
                                counts.setdefault((step, i), Counter())[child] += 1
                    stack.append(step)
        except (IndexError, KeyError):
            continue  # a malformed proof teaches nothing
    table: dict[str, list[tuple[tuple[str, float], ...]]] = {}
    for (label, i), counter in counts.items():
        total = sum(counter.values())
        per = table.setdefault(label, [()] * len(statements[label].hypotheses))
        per[i] = tuple((child, math.log(c / total)) for child, c in counter.most_common(keep))
    return {label: tuple(per) for label, per in table.items()}


class ClosesInOneStep:
    """For ``SearchConfig.close_in_one_step`` (a ``ClosingPolicy``): the steps that close a
    new goal outright, in the index's order (for the model too: no model call is spent on
    them). A policy that has ``candidates``, an :class:`ApplicableActions`, gets it."""

    candidates: ApplicableActions

    def closing(self, state: ProofState) -> list[str]:
        return [a for _, a in self.candidates.closing_actions(
            state, self.candidates.labels(state), 4)]


class FrequencyPolicy(ClosesInOneStep):
    """Metamath, no model: applicable actions (:class:`ApplicableActions`), labels ranked
    by their use in training proofs; a label's completions share its probability."""

    def __init__(self, env: Any, counts: Counter, labels: Sequence[str] | None = None,
                 config: CandidateConfig = DEFAULT_CANDIDATES,
                 lemmas: LemmaTable | None = None) -> None:
        if labels is None:
            labels = [label for label, _ in counts.most_common()]
        self.counts = counts
        self.total = sum(counts.values()) + len(labels)
        self.per_label = config.per_label
        self.candidates = ApplicableActions(env, sorted(labels, key=lambda x: -counts.get(x, 0)),
                                            config, lemmas)

    def logprob(self, label: str) -> float:
        return math.log((self.counts.get(label, 0) + 1) / self.total)

    def propose(self, state: ProofState, n: int) -> list[tuple[str, float]]:
        out = [(label, 0.0) for label in hypotheses_stating(state)]
        labels = self.candidates.labels(state)
        closing = self.candidates.closing_actions(state, labels, n)
        out += [(action, self.logprob(label)) for label, action in closing]
        seen = {action for action, _ in out}
        rest: list[tuple[str, float]] = []
        decided = 0  # completions that need no context term
        for label in labels:
            if len(out) + decided >= n:
                break
            actions = [(a, prior) for a, prior
                       in self.candidates.weighted_completions(state, label, self.per_label)
                       if a not in seen]
            decided += sum(1 for _, prior in actions if prior == 0.0)
            # the label's probability, shared by its completions, each weighted by its prior
            rest.extend((action, self.logprob(label) + prior - math.log(len(actions)))
                        for action, prior in actions)
        return (out + sorted(rest, key=lambda pair: -pair[1]))[:n]


class UniformPolicy(ClosesInOneStep):
    """Metamath, no model: applicable actions in a random order, all equally likely."""

    def __init__(self, env: Any, labels: Sequence[str], seed: int = 0,
                 config: CandidateConfig = DEFAULT_CANDIDATES,
                 lemmas: LemmaTable | None = None) -> None:
        self.seed, self.per_label = seed, config.per_label
        self.candidates = ApplicableActions(env, list(labels), config, lemmas)

    def propose(self, state: ProofState, n: int) -> list[tuple[str, float]]:
        labels = self.candidates.labels(state)
        digest = hashlib.sha256(f"{self.seed}\0{state.goals[0].conclusion}".encode()).digest()
        random.Random(digest).shuffle(labels)
        options = hypotheses_stating(state)
        options += [a for _, a in self.candidates.closing_actions(state, labels, n)]
        filled: list[str] = []  # completions with context terms come after the others
        for label in labels:
            if len(options) >= n:
                break
            for action, prior in self.candidates.weighted_completions(state, label,
                                                                      self.per_label):
                if action not in options and action not in filled:
                    (options if prior == 0.0 else filled).append(action)
        options += filled
        if not options:
            return []
        logprob = -math.log(len(labels) + 1)
        return [(action, logprob) for action in options[:n]]
