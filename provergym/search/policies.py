"""Policies that use no trained model (the baselines), and adapters for the model.

Every policy has ``propose(state, n) -> [(action, logprob)]``, best first.

- :class:`FrequencyPolicy` (Metamath): the applicable actions of
  :class:`~provergym.search.actions.ApplicableActions` (labels whose conclusion unifies
  with the goal; variables the conclusion leaves open are fixed by unifying the label's
  hypotheses with the theorem's), labels ranked by how often the training split's proofs
  use them. The goal's own ``$e`` hypotheses come first when one states the goal, then
  the steps that close the goal outright (every hypothesis they need is the theorem's).
- :class:`UniformPolicy` (Metamath): the same candidates in a random order (seeded by the
  goal text, so runs repeat), each with the same log-probability.
- :class:`MetamathModelPolicy`: the same candidates, ranked by the trained model; the
  model also writes substitutions that no hypothesis fixes.
- :class:`FixedTactics` (Coq): a fixed list of tactics, the same for every state.
- :class:`NearestTactics` (Coq): the tactics that the training states most like this one
  took (TF-IDF k-NN over the state's text, :class:`agents.baselines.NearestNeighbours`).
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

from provergym.api import ProofState, Rejected
from provergym.search.actions import (
    CONTEXT_TERMS,
    INDEX_LEMMAS,
    LEMMA_LIMIT,
    ApplicableActions,
    LemmaTable,
    bound_by_conclusion,
    hypotheses_stating,
)

# Coq k-NN policy: training states whose tactics are candidates (NearestTactics)
NEAREST_TACTICS = 32
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


def training_lemma_table(db: Any, theorems: Iterable[str], syntax_typecodes: Iterable[str],
                         keep: int = 32) -> dict[str, tuple[tuple[tuple[str, float], ...], ...]]:
    """For :class:`~provergym.search.actions.ApplicableActions`'s lemma look-ahead: label ->
    per hypothesis (in the label's hypothesis order; () for a ``$f`` or a syntactic one)
    the ``keep`` assertions that most often prove that hypothesis in the proofs of
    ``theorems``, each with its share (a log). Read from the proofs' label stacks alone,
    so it is cheap; a shared sub-proof counts once per use."""
    from provergym.metamath.prooftree import ProofTreeError, proof_labels

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


class _ClosesInOneStep:
    """For ``SearchConfig.close_in_one_step``: the steps that close a new goal outright,
    in the index's order (for the model too: no model call is spent on them)."""

    candidates: ApplicableActions

    def closing(self, state: ProofState) -> list[str]:
        return [a for _, a in self.candidates.closing_actions(
            state, self.candidates.labels(state), 4)]


class FrequencyPolicy(_ClosesInOneStep):
    """Metamath, no model: applicable actions (:class:`ApplicableActions`), labels ranked
    by their use in training proofs; a label's completions share its probability."""

    def __init__(self, env: Any, counts: Counter, labels: Sequence[str] | None = None,
                 per_label: int = 2, terms: int = CONTEXT_TERMS,
                 lemmas: LemmaTable | None = None, lemma_limit: int = LEMMA_LIMIT,
                 index_lemmas: int = INDEX_LEMMAS) -> None:
        if labels is None:
            labels = [label for label, _ in counts.most_common()]
        self.counts = counts
        self.total = sum(counts.values()) + len(labels)
        self.per_label = per_label
        self.candidates = ApplicableActions(env, sorted(labels, key=lambda x: -counts.get(x, 0)),
                                            terms=terms, lemmas=lemmas,
                                            lemma_limit=lemma_limit, index_lemmas=index_lemmas)

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


class UniformPolicy(_ClosesInOneStep):
    """Metamath, no model: applicable actions in a random order, all equally likely."""

    def __init__(self, env: Any, labels: Sequence[str], seed: int = 0,
                 per_label: int = 2, terms: int = CONTEXT_TERMS,
                 lemmas: LemmaTable | None = None, lemma_limit: int = LEMMA_LIMIT,
                 index_lemmas: int = INDEX_LEMMAS) -> None:
        self.seed, self.per_label = seed, per_label
        self.candidates = ApplicableActions(env, list(labels), terms=terms, lemmas=lemmas,
                                            lemma_limit=lemma_limit, index_lemmas=index_lemmas)

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


class FixedTactics:
    """Coq, no model: the same tactics for every state, equally likely."""

    def __init__(self, tactics: Sequence[str] = COQ_TACTICS) -> None:
        self.tactics = tuple(tactics)

    def propose(self, state: ProofState, n: int) -> list[tuple[str, float]]:
        logprob = -math.log(len(self.tactics))
        return [(tactic, logprob) for tactic in self.tactics[:n]]


class NearestTactics:
    """Coq, no trained model: the tactics of the ``k`` training states nearest to the state
    (TF-IDF cosine over the text the model reads, :func:`agents.tasks.goal_text`), each
    scored by its neighbours' summed similarity (:class:`agents.baselines.NearestNeighbours`).
    On the corpus's test states its top-8 holds the very tactic the proof used for 19.5% of
    the states, against 2.8% for the tiny CPU-trained model (benchmarks/RESULTS.md)."""

    def __init__(self, neighbours: Any) -> None:
        from agents.tasks import get_task

        self.neighbours = neighbours
        self.task = get_task("coq")

    @classmethod
    def from_corpus(cls, data_dir: str, k: int = NEAREST_TACTICS) -> NearestTactics:
        """Fit on the train split of the Coq corpus at ``data_dir`` (``provergym corpus
        build coq``); a clear error when it is missing."""
        from agents.baselines import NearestNeighbours
        from agents.tasks import get_task
        from agents.train import examples_of, load_corpus

        task = get_task("coq")
        examples = list(examples_of(task, load_corpus(task, data_dir)["train"]))
        return cls(NearestNeighbours.fit([e.goal for e in examples],
                                         [e.action for e in examples], k=k))

    def propose(self, state: ProofState, n: int) -> list[tuple[str, float]]:
        from agents.tasks import goal_text

        return self.neighbours.propose(goal_text(self.task, state), n)


class WithFallback:
    """``policy``'s proposals, then ``fallback`` actions it did not already propose (they
    are tried last at every expansion, with log-probability ``fallback_logprob``). The
    fallback takes its slots out of the ``n`` candidates: the policy is asked for
    ``n - len(fallback)``, so the search's cut to ``n`` never drops the fallback."""

    def __init__(self, policy: Any, fallback: Sequence[str] = ("sauto.",),
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
    bound = bound_by_conclusion(pattern)
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
    log-probability kept), and the ``n`` best returned.

    With ``retrieval`` (Coq: a :class:`NearestTactics`) and ``retrieval_weight`` w > 0, the
    tactics of the nearest training states join the model's own ``n``, every candidate is
    scored as in kNN-LM, and the ``n`` best are kept: ``p = w * p_knn + (1 - w) * p_model``, ``p_model`` the model's
    exact log-probability of the tactic (:meth:`agents.policy.Policy.score`) and ``p_knn``
    the tactic's share of the neighbours' similarity (0 when no neighbour took it)."""

    def __init__(self, model_dir: str, device: str | None = None, threads: int = 1,
                 env: Any = None, oversample: int = 2, retrieval: Any = None,
                 retrieval_weight: float = 0.0) -> None:
        import torch

        from agents.policy import Policy

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
            canonical = canonical_metamath_action(self.env, state.theorem, action)
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


# kNN-LM mixture weight of the retrieval distribution (see MetamathModelPolicy); measured on
# the demo's 50 theorems: 0 -> 23/50, 0.5 -> 30/50, 0.9 -> 30/50 (benchmarks/RESULTS.md)
DEFAULT_RETRIEVAL_WEIGHT = 0.5
# Coq: kNN-LM weight of the nearest training states' tactics in the model's proposals
# (ModelPolicy's retrieval). Measured on 40 held-out lemmas, budget 8 (benchmarks/RESULTS.md):
# the tiny CPU model 4/40 alone, 10/40 with w = 0.5, as many as the k-NN alone; letting the
# two lists take turns for the slots instead proved 8/40
COQ_RETRIEVAL_WEIGHT = 0.5
# Mixture weight of the frequency policy's label distribution (MetamathModelPolicy, when it
# has the training label counts); measured 2026-12-04: set.mm test sample of 200, 27 -> 28;
# the demo's 50, 34 -> 35 (0.25: 34, 0.75: 33); no theorem lost (benchmarks/RESULTS.md)
FREQUENCY_WEIGHT = 0.5
# Nearest training goals whose whole steps (substitutions included) are candidates; off by
# default: on set.mm's test split they double the recall of steps with a substitution but
# cost as much on the others, and proved no more theorems (benchmarks/RESULTS.md)
STEP_NEIGHBOURS = 0


class MetamathModelPolicy(_ClosesInOneStep):
    """The trained model ranks the applicable actions (GPT-f's policy, constrained to
    steps that can apply). As in the baselines, a hypothesis stating the goal comes first,
    then the steps that close the goal outright (:meth:`ApplicableActions.closing`), here
    in the model's order.

    ``p(action) = p(label | goal, applicable) * p(rest of the action | goal, label)``: one
    forward pass gives the label distribution, renormalised over the labels whose
    conclusion unifies with the goal. The best labels are completed by
    :meth:`ApplicableActions.completions` and, when some variable is left open, by the
    model itself (beam search after the label, ``beams`` beams for the ``write`` best
    such labels; a written step is kept only if the environment accepts it, so no
    candidate slot goes to an unparsable substitution); every candidate's rest is then
    scored by the model in one batch. ``write`` is 0 by default: on the demo's theorems the
    tiny model's own substitutions cost more candidate slots than they proved (28/50 with
    ``write=2`` against 30/50 without).

    A model trained with hints (``agents.retrieval``) carries a label retriever; its k-NN
    distribution is then mixed into the label distribution as in kNN-LM (Khandelwal et al.,
    2020): ``p = w * p_retrieval + (1 - w) * p_model``, ``w = retrieval_weight`` (default
    :data:`DEFAULT_RETRIEVAL_WEIGHT` when the model has a retriever, else 0). Given the
    training label ``counts``, the frequency policy's add-one distribution over the labels
    that apply is mixed in the same way, with weight ``frequency_weight`` (default
    :data:`FREQUENCY_WEIGHT` when counts are given, else 0).

    With ``step_neighbours`` (off by default), the whole steps that the nearest training
    goals took are candidates too (:meth:`near_steps`), their substitution scored as
    ``step_weight * p_retrieval + (1 - step_weight) * p_model``. Candidates with a
    substitution that neither unification nor a hypothesis decided (retrieved, filled with
    context terms, or written by the model) take at most ``max_written`` of the slots.
    Measured on 300 steps of 60 set.mm test theorems: the right step is among the 8
    candidates for 86% of the steps that need no such substitution but 13% of those that
    do; retrieved steps take the latter to 27% and the former down to 81%, and the
    search proved 4/60 against 5/60 (benchmarks/RESULTS.md)."""

    def __init__(self, model_dir: str, env: Any, labels: Sequence[str], device: str | None = None,
                 threads: int = 1, per_label: int = 2, write: int = 0, beams: int = 2,
                 retrieval_weight: float | None = None, choose: int = 8,
                 terms: int = CONTEXT_TERMS, step_neighbours: int = STEP_NEIGHBOURS,
                 step_weight: float = 0.5, max_written: int = 8,
                 lemmas: LemmaTable | None = None, lemma_limit: int = LEMMA_LIMIT,
                 index_lemmas: int = INDEX_LEMMAS, prior_weight: float = 0.5,
                 counts: Counter | None = None,
                 frequency_weight: float | None = None) -> None:
        import torch

        from agents.policy import Policy

        if threads:
            torch.set_num_threads(threads)  # the machine is shared; one thread per worker
        self.model = Policy.load(model_dir, device=device)
        self.env = env
        self.candidates = ApplicableActions(env, list(labels), terms=terms, lemmas=lemmas,
                                            lemma_limit=lemma_limit, index_lemmas=index_lemmas)
        self.per_label, self.write, self.beams = per_label, write, beams
        self.choose = max(choose, per_label)
        self.step_neighbours = step_neighbours
        self.step_weight, self.max_written = step_weight, max_written
        if not 0.0 <= prior_weight <= 1.0:
            raise ValueError("prior_weight must be between 0 and 1")
        self.prior_weight = prior_weight
        if frequency_weight is None:  # the default: mix in frequency when counts are given
            frequency_weight = FREQUENCY_WEIGHT if counts is not None else 0.0
        if not 0.0 <= frequency_weight <= 1.0:
            raise ValueError("frequency_weight must be between 0 and 1")
        if frequency_weight and counts is None:
            raise ValueError("frequency_weight needs the training label counts")
        self.frequency_weight, self.counts = frequency_weight, counts
        if step_neighbours and not getattr(self.model.retriever, "steps", None):
            raise ValueError(f"{model_dir}: retrieved steps need a model trained with hints "
                             "whose retriever keeps whole steps (one trained since they "
                             "exist); this one has none")
        if step_neighbours < 0 or max_written < 0 or not 0.0 <= step_weight <= 1.0:
            raise ValueError("step_neighbours and max_written must be >= 0, step_weight "
                             "between 0 and 1")
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
            from agents.tasks import goal_text

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

    def near_steps(self, state: ProofState) -> dict[str, dict[str, float]]:
        """label -> {step: share}: the steps with a substitution that the retriever's
        ``step_neighbours`` nearest training goals took, grouped by label, each with its
        share of the label's summed similarity (best first); {} when off or not stored."""
        retriever = self.model.retriever
        if not self.step_neighbours or retriever is None:
            return {}
        from agents.tasks import goal_text

        near: dict[str, dict[str, float]] = {}
        for step, weight in retriever.nearest_steps(goal_text(self.model.task, state),
                                                    self.step_neighbours):
            label, _, rest = step.partition(" ")
            if rest.startswith("{{"):
                near.setdefault(label, {})[step] = weight
        for shares in near.values():
            total = sum(shares.values())
            for step in shares:
                shares[step] /= total
        return near

    def _applicable(self, state: ProofState, label: str, text: str) -> str | None:
        """``text`` made canonical, if it applies ``label`` with every open variable given
        and the environment accepts it here; else None."""
        action = canonical_metamath_action(self.env, state.theorem, text)
        if (action is None or not self.candidates.binds_all(label, action)
                or isinstance(self.env.step(state, action), Rejected)):
            return None
        return action

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
        near = self.near_steps(state)
        actions: dict[str, str] = {}  # action -> its label
        to_write: list[str] = []
        written: set[str] = set()  # retrieved or written by the model: at most max_written
        priors: dict[str, float] = {}  # a filled substitution's log prior (ApplicableActions)
        usable = 0  # actions that can be kept: at most per_label per label
        taken = {action for action, _ in out}
        for label in ranked[:3 * n]:
            # A label with open variables gets up to ``choose`` completions (context terms
            # among them); the model's score picks the best ``per_label`` of them below.
            open_variables = self.candidates.needs_substitution(label)
            wanted = self.choose if open_variables else self.per_label
            new = 0
            for action, prior in self.candidates.weighted_completions(state, label, wanted):
                if action not in actions and action not in taken:
                    actions[action] = label
                    if prior:
                        written.add(action)  # filled by look-ahead or context terms
                        priors[action] = prior
                    new += 1
            if open_variables:
                for step in list(near.get(label, ()))[:self.choose]:
                    action = self._applicable(state, label, step)
                    if action is not None and action not in actions and action not in taken:
                        actions[action] = label  # a retrieved neighbour's step that applies
                        written.add(action)
                        new += 1
                if len(to_write) < self.write:
                    to_write.append(label)
            usable += min(new, self.per_label)
            if usable >= 2 * n:
                break
        for label, texts in zip(to_write, self.model.complete(state, to_write, self.beams)):
            for text in texts:
                action = self._applicable(state, label, text)
                if action is not None and action not in actions:
                    actions[action] = label  # the model wrote a step that applies
                    written.add(action)
        if not actions:
            return out[:n]
        texts = list(actions)
        scored = []
        w = self.step_weight
        for text, whole in zip(texts, self.model.score(state, texts)):
            label = actions[text]
            rest = whole - first[label]  # log p(substitution | goal, label), the model's
            shares = near.get(label)
            if w and shares:  # kNN-LM again, over the label's retrieved substitutions
                rest = math.log(max(w * shares.get(text, 0.0) + (1 - w) * math.exp(rest),
                                    1e-300))
            prior = priors.get(text)
            if prior is not None and self.prior_weight:  # the same with the filler's prior
                v = self.prior_weight
                rest = math.log(max(v * math.exp(prior) + (1 - v) * math.exp(rest), 1e-300))
            scored.append((text, label_lp[label] + rest))
        scored.sort(key=lambda pair: -pair[1])
        per_label: Counter = Counter()
        kept = []
        room = self.max_written
        for text, logprob in scored:  # at most per_label actions of one label
            label = actions[text]
            if per_label[label] < self.per_label and (text not in written or room > 0):
                per_label[label] += 1
                room -= text in written
                kept.append((text, logprob))
        return (out + kept)[:n]  # closing steps first: each one ends the goal

    def values(self, states: Sequence[ProofState]) -> list[float]:
        return self.model.values(list(states))
