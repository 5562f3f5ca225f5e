"""Model-backed policies behind the search protocols (:mod:`provergym.search.policies`).

- :class:`MetamathModelPolicy`: the trained model ranks the actions that Metamath's
  candidate generator (:class:`provergym.metamath.actions.ApplicableActions`) finds.
- :class:`ModelPolicy`: the trained model's own proposals (Coq), with the nearest training
  states' tactics mixed in.
- :class:`NearestTactics` (Coq, no trained model): the tactics that the training states
  most like this one took (TF-IDF k-NN over the state's text).

Importing this module imports torch; the method registry (``provergym.bench.methods``)
imports it only when a model method is built.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import torch

from agents.baselines import NearestNeighbours
from agents.defaults import DEFAULT_RETRIEVAL_WEIGHT, FREQUENCY_WEIGHT
from agents.policy import Policy
from agents.tasks import get_task, goal_text
from agents.train import examples_of, load_task_corpus, training_split
from provergym.api import ProofState
from provergym.metamath.actions import (
    DEFAULT_CANDIDATES,
    ApplicableActions,
    CandidateConfig,
    LemmaTable,
    canonical_action,
    hypotheses_stating,
)
from provergym.metamath.policies import ClosesInOneStep

# Coq k-NN policy: training states whose tactics are candidates (NearestTactics)
NEAREST_TACTICS = 32
# MetamathModelPolicy: completions scored per label with open variables (the best
# ``per_label`` are kept), the weight of the look-ahead's prior against the model's score
# of a filled substitution, and the slots such substitutions may take
CHOOSE = 8
PRIOR_WEIGHT = 0.5
MAX_FILLED = 8


class NearestTactics:
    """Coq, no trained model: the tactics of the ``k`` training states nearest to the state
    (TF-IDF cosine over the text the model reads, :func:`agents.tasks.goal_text`), each
    scored by its neighbours' summed similarity (:class:`agents.baselines.NearestNeighbours`).
    On the corpus's test states its top-8 holds the very tactic the proof used for 19.5% of
    the states, against 2.8% for the tiny CPU-trained model (benchmarks/RESULTS.md)."""

    def __init__(self, neighbours: NearestNeighbours,
                 sources: Sequence[tuple[str, int]] | None = None) -> None:
        import numpy as np

        self.neighbours = neighbours
        self.task = get_task("coq")
        # (file, line) of each indexed state, to leave out the lemma being attempted and
        # the ones after it in its file (see set_attempt)
        self.files = np.array([f for f, _ in sources]) if sources else None
        self.lines = np.array([line for _, line in sources]) if sources else None
        self._excluded = None

    def set_attempt(self, file: str | None, line: int | None) -> None:
        """The lemma about to be searched (its file, as the corpus names files, and the line
        of its statement): its own states and those of later lemmas in that file are never
        retrieved, so a lemma of the training split is not proved by its own proof. None:
        nothing is left out."""
        if file is None or self.files is None:
            self._excluded = None
            return
        self._excluded = (self.files == file) & (self.lines >= (line or 0))

    @classmethod
    def from_corpus(cls, data_dir: str, k: int = NEAREST_TACTICS,
                    extra_data: Sequence[str] = ()) -> NearestTactics:
        """Fit on the train split of the Coq corpus at ``data_dir`` (``provergym corpus
        build coq``), plus the train splits of ``extra_data`` (expert iteration's found
        proofs, :func:`agents.train.training_split`); a clear error when one is missing."""
        task = get_task("coq")
        train = training_split(task, load_task_corpus(task, data_dir)["train"], extra_data)
        examples = list(examples_of(task, train))
        sources = None
        if "file" in train.column_names and "line" in train.column_names:
            sources = list(zip(train["file"], train["line"]))
        return cls(NearestNeighbours.fit([e.goal for e in examples],
                                         [e.action for e in examples], k=k), sources)

    def propose(self, state: ProofState, n: int) -> list[tuple[str, float]]:
        return self.neighbours.propose(goal_text(self.task, state), n, self._excluded)


class ModelPolicy:
    """The trained model (:class:`agents.policy.Policy`) behind the search protocol.

    With ``env`` (a MetamathEnv), proposals are made canonical
    (:func:`provergym.metamath.actions.canonical_action`): the model is asked for ``oversample * n``
    candidates, the ones that cannot apply are dropped, equal ones merged (best
    log-probability kept), and the ``n`` best returned.

    With ``retrieval`` (Coq: a :class:`NearestTactics`) and ``retrieval_weight`` w > 0, the
    tactics of the nearest training states join the model's own ``n``, every candidate is
    scored as in kNN-LM, and the ``n`` best are kept: ``p = w * p_knn + (1 - w) * p_model``, ``p_model`` the model's
    exact log-probability of the tactic (:meth:`agents.policy.Policy.score`) and ``p_knn``
    the tactic's share of the neighbours' similarity (0 when no neighbour took it)."""

    def __init__(self, model_dir: str, device: str | None = None, threads: int = 1,
                 env: Any = None, oversample: int = 2, retrieval: Any = None,
                 retrieval_weight: float = 0.0) -> None:
        if not 0.0 <= retrieval_weight <= 1.0:
            raise ValueError("retrieval_weight must be between 0 and 1")
        if retrieval_weight and retrieval is None:
            raise ValueError("retrieval_weight needs a retrieval policy")
        if threads:
            torch.set_num_threads(threads)  # the machine is shared; one thread per worker
        self.model = Policy.load(model_dir, device=device)
        self.env, self.oversample = env, max(1, oversample)
        self.retrieval, self.retrieval_weight = retrieval, retrieval_weight

    def propose(self, state: ProofState, n: int) -> list[tuple[str, float]]:
        if self.env is None and self.retrieval_weight:
            return self._mixed(state, n)
        if self.env is None:
            return self.model.propose(state, n)
        best: dict[str, float] = {}
        for action, logprob in self.model.propose(state, n * self.oversample):
            canonical = canonical_action(self.env, state.theorem, action)
            if canonical is not None and logprob > best.get(canonical, -math.inf):
                best[canonical] = logprob
        return sorted(best.items(), key=lambda pair: -pair[1])[:n]

    def _mixed(self, state: ProofState, n: int) -> list[tuple[str, float]]:
        near = dict(self.retrieval.propose(state, n))
        texts = list(dict.fromkeys([a for a, _ in self.model.propose(state, n)] + list(near)))
        if not texts:
            return []
        w = self.retrieval_weight
        mixed = [(text, math.log(max(w * math.exp(near.get(text, -math.inf))
                                     + (1 - w) * math.exp(own), 1e-300)))
                 for text, own in zip(texts, self.model.score(state, texts))]
        mixed.sort(key=lambda pair: -pair[1])
        return mixed[:n]

    def values(self, states: Sequence[ProofState]) -> list[float]:
        return self.model.values(list(states))

    def set_attempt(self, file: str | None, line: int | None) -> None:
        """Passed on to the retrieval (see :meth:`NearestTactics.set_attempt`)."""
        if self.retrieval is not None and hasattr(self.retrieval, "set_attempt"):
            self.retrieval.set_attempt(file, line)


class MetamathModelPolicy(ClosesInOneStep):
    """The trained model ranks the applicable actions (GPT-f's policy, constrained to
    steps that can apply). As in the baselines, a hypothesis stating the goal comes first,
    then the steps that close the goal outright (:meth:`ApplicableActions.closing`), here
    in the model's order.

    ``p(action) = p(label | goal, applicable) * p(rest of the action | goal, label)``: one
    forward pass gives the label distribution, renormalised over the labels whose
    conclusion unifies with the goal. The best labels are completed by
    :meth:`ApplicableActions.weighted_completions` (a label with open variables gets up to
    :data:`CHOOSE` completions, of which the model's score keeps the best ``per_label``),
    and every candidate's rest is scored by the model in one batch. A completion that the
    look-ahead filled has a prior, mixed into the model's score with weight
    :data:`PRIOR_WEIGHT`; such completions take at most :data:`MAX_FILLED` slots.

    A model trained with hints (``agents.retrieval``) carries a label retriever; its k-NN
    distribution is then mixed into the label distribution as in kNN-LM (Khandelwal et al.,
    2020): ``p = w * p_retrieval + (1 - w) * p_model``, ``w = retrieval_weight`` (default
    :data:`DEFAULT_RETRIEVAL_WEIGHT` when the model has a retriever, else 0). Given the
    training label ``counts``, the frequency policy's add-one distribution over the labels
    that apply is mixed in the same way, with weight ``frequency_weight`` (default
    :data:`FREQUENCY_WEIGHT` when counts are given, else 0).

    (The model writing substitutions of its own, and whole steps retrieved from the nearest
    training goals, were measured and dropped: they cost more candidate slots than they
    proved; the figures stay in benchmarks/RESULTS.md.)"""

    def __init__(self, model_dir: str, env: Any, labels: Sequence[str],
                 candidates: CandidateConfig = DEFAULT_CANDIDATES,
                 lemmas: LemmaTable | None = None, counts: Counter | None = None,
                 retrieval_weight: float | None = None,
                 frequency_weight: float | None = None,
                 device: str | None = None, threads: int = 1) -> None:
        if threads:
            torch.set_num_threads(threads)  # the machine is shared; one thread per worker
        self.model = Policy.load(model_dir, device=device)
        self.env = env
        self.candidates = ApplicableActions(env, list(labels), candidates, lemmas)
        self.per_label = candidates.per_label
        self.choose = max(CHOOSE, self.per_label)
        if frequency_weight is None:  # the default: mix in frequency when counts are given
            frequency_weight = FREQUENCY_WEIGHT if counts is not None else 0.0
        if not 0.0 <= frequency_weight <= 1.0:
            raise ValueError("frequency_weight must be between 0 and 1")
        if frequency_weight and counts is None:
            raise ValueError("frequency_weight needs the training label counts")
        self.frequency_weight, self.counts = frequency_weight, counts
        if retrieval_weight is None:  # the default: mix in retrieval when the model has it
            retrieval_weight = DEFAULT_RETRIEVAL_WEIGHT if self.model.retriever else 0.0
        if not 0.0 <= retrieval_weight <= 1.0:
            raise ValueError("retrieval_weight must be between 0 and 1")
        if retrieval_weight and self.model.retriever is None:
            raise ValueError(f"{model_dir}: retrieval_weight needs a model trained with hints "
                             "(it has no retriever)")
        self.retrieval_weight = retrieval_weight
        self.vocab = self.model.tokenizer.get_vocab()  # read per expansion: built once

    def label_logprobs(self, state: ProofState,
                       labels: Sequence[str]) -> tuple[dict[str, float], dict[str, float]]:
        """log p(label | goal), renormalised over ``labels`` (labels the vocabulary lacks
        share the unknown token's probability), and the model's raw first-token figure."""
        raw = self.model.first_token_logprobs(state, labels)
        vocab = self.vocab
        unknown = sum(1 for label in labels if label not in vocab)
        adjusted = [lp if label in vocab else lp - math.log(unknown)
                    for label, lp in zip(labels, raw)]
        top = max(adjusted)
        norm = top + math.log(sum(math.exp(a - top) for a in adjusted))
        model = {label: a - norm for label, a in zip(labels, adjusted)}
        if self.retrieval_weight:
            # kNN-LM: p = w * p_retrieval + (1 - w) * p_model, both over these labels
            near = self.model.retriever.distribution(goal_text(self.model.task, state))
            mass = sum(near.get(label, 0.0) for label in labels)
            w = self.retrieval_weight if mass > 0 else 0.0
            model = {label: math.log(max(w * near.get(label, 0.0) / (mass or 1.0)
                                         + (1 - w) * math.exp(lp), 1e-300))
                     for label, lp in model.items()}  # w = 1: retrieval alone
        u = self.frequency_weight
        if u and self.counts is not None:
            # the frequency policy's distribution over these labels (add-one), mixed in
            counts = self.counts
            total = sum(counts.get(label, 0) + 1 for label in labels)
            model = {label: math.log(max(u * (counts.get(label, 0) + 1) / total
                                         + (1 - u) * math.exp(lp), 1e-300))
                     for label, lp in model.items()}
        return model, dict(zip(labels, raw))

    def propose(self, state: ProofState, n: int) -> list[tuple[str, float]]:
        out = [(label, 0.0) for label in hypotheses_stating(state)]
        labels = self.candidates.labels(state)
        if not labels or len(out) >= n:
            return out[:n]
        label_lp, first = self.label_logprobs(state, labels)
        ranked = sorted(labels, key=lambda label: -label_lp[label])
        closing = self.candidates.closing_actions(state, ranked, n - len(out))
        out += [(action, label_lp[label]) for label, action in closing]
        if len(out) >= n:
            return out[:n]
        actions: dict[str, str] = {}  # action -> its label
        priors: dict[str, float] = {}  # a filled substitution's log prior (the look-ahead)
        usable = 0  # actions that can be kept: at most per_label per label
        taken = {action for action, _ in out}
        for label in ranked[:3 * n]:
            wanted = self.choose if self.candidates.needs_substitution(label) else self.per_label
            new = 0
            for action, prior in self.candidates.weighted_completions(state, label, wanted):
                if action not in actions and action not in taken:
                    actions[action] = label
                    if prior:
                        priors[action] = prior  # filled by the look-ahead
                    new += 1
            usable += min(new, self.per_label)
            if usable >= 2 * n:
                break
        if not actions:
            return out[:n]
        texts = list(actions)
        scored = []
        for text, whole in zip(texts, self.model.score(state, texts)):
            label = actions[text]
            rest = whole - first[label]  # log p(substitution | goal, label), the model's
            prior = priors.get(text)
            if prior is not None:  # kNN-LM again, with the look-ahead's prior
                v = PRIOR_WEIGHT
                rest = math.log(max(v * math.exp(prior) + (1 - v) * math.exp(rest), 1e-300))
            scored.append((text, label_lp[label] + rest))
        scored.sort(key=lambda pair: -pair[1])
        per_label: Counter = Counter()
        kept = []
        room = MAX_FILLED
        for text, logprob in scored:  # at most per_label actions of one label
            label = actions[text]
            if per_label[label] < self.per_label and (text not in priors or room > 0):
                per_label[label] += 1
                room -= text in priors
                kept.append((text, logprob))
        return (out + kept)[:n]  # closing steps first: each one ends the goal

    def values(self, states: Sequence[ProofState]) -> list[float]:
        return self.model.values(list(states))
