"""Metamath actions that can apply to a goal, found without a model.

The policies (the baselines and the model) share this candidate generator, so that they
differ only in how they rank:

- :meth:`ApplicableActions.labels`: the labels whose conclusion unifies with the goal
  and that come before the theorem (the only ones the environment would accept), found
  through an index on the head of each label's conclusion;
- :meth:`ApplicableActions.completions`: for one label, the actions to try. When
  unifying the conclusion fixes every variable of the label, that is the label alone.
  Otherwise the variables left (``ph`` of ``ax-mp``, ``ps`` of ``syl``) are found by
  unifying the label's own ``$e`` hypotheses with the theorem's ``$e`` hypotheses, as
  metamath-exe's ``improve`` does; the first completions match the most hypotheses, so a
  step that closes its subgoals at once comes first. Variables that no hypothesis fixes
  are next fixed by the **lemma look-ahead** (``lemmas``, a table from
  :func:`provergym.metamath.policies.training_lemma_table`): a hypothesis that mentions
  them is unified with the conclusions of the lemmas (at most ``lemma_limit``, earlier
  than the theorem) that most often proved that hypothesis of that label in training
  proofs, and a unifier that fixes them all to terms over the goal's own variables gives
  a completion, with the lemma's share as its prior (``bitr3i``'s ``ps`` in ``orordir``).
  The lemma itself is not applied: its subgoal is left to the search. A lemma too rare
  for that table is found by the **index look-ahead** (``index_lemmas`` per hypothesis,
  :meth:`ApplicableActions.sharing`): the earlier assertions whose conclusions share the
  most rare constants with the hypothesis (``Prob`` in ``( P e. Prob -> ?ps )``) are
  unified with it, and those that fix the open variables give completions, one that
  closes the hypothesis outright (no hypotheses of its own: ``domprobmeas``) first. A
  generic lemma (``notnot``) shares no rare constant and is never offered. Lemmas that
  fix only some of the open variables are combined across two hypotheses (``3eqtr4i``'s
  ``A`` and ``B``, each fixed by ``df-ima`` in ``resima``). A completion that would give the
  goal itself as a subgoal is dropped. (Filling open variables with sub-expressions of the
  goal, and a second level of look-ahead, were measured and dropped: they proved fewer
  theorems or the same ones at twice the time; see benchmarks/RESULTS.md.)
- :meth:`ApplicableActions.closing`: the actions that close the goal outright, every
  hypothesis of the label being one of the theorem's (metamath-exe's ``improve`` looks
  for these); the policies try them first;
- :func:`hypotheses_stating`: the theorem's ``$e`` hypotheses that state the goal (the
  best possible step: it closes the goal).

Nothing here is trusted: every action still goes through ``MetamathEnv.step``, which checks
unification, ``$d`` conditions and the order of statements again.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from provergym.api import ProofState
from provergym.metamath.env import Action, parse_action
from provergym.metamath.grammar import Node

# label -> per hypothesis, the lemmas that prove it in training proofs, with log shares
# (provergym.metamath.policies.training_lemma_table)
LemmaTable = dict[str, tuple[tuple[tuple[str, float], ...], ...]]

# Match attempts of one completion search (see ApplicableActions._complete).
MATCH_BUDGET = 64
# Lemmas tried per hypothesis by the look-ahead (ApplicableActions.lemmas; off without a table).
LEMMA_LIMIT = 32
# Lemmas found through an index of conclusions per hypothesis that mentions an open variable
# (earlier assertions whose conclusion shares rare constants with it, unifies with it and
# fixes the variable; 0: off), the unification attempts each such hypothesis may spend,
# and how many conclusions a constant may be in and still count as rare (at most
# MAX_POSTING and at most RARE_SHARE of the labels: in propositional calculus nothing is).
INDEX_LEMMAS = 4
INDEX_BUDGET = 100
MAX_POSTING = 3000
RARE_SHARE = 0.1


@dataclass(frozen=True)
class CandidateConfig:
    """How :class:`ApplicableActions` completes a label (one frozen object, shared by every
    policy that uses the generator, so that a worker can rebuild the same policy)."""

    per_label: int = 2  # completions kept per label
    lemma_limit: int = LEMMA_LIMIT  # table look-ahead lemmas per hypothesis (0: off)
    index_lemmas: int = INDEX_LEMMAS  # index look-ahead lemmas per hypothesis (0: off)

    def __post_init__(self) -> None:
        if self.per_label < 1 or self.lemma_limit < 0 or self.index_lemmas < 0:
            raise ValueError("per_label must be 1 or more; lemma_limit and index_lemmas "
                             "0 (off) or more")


DEFAULT_CANDIDATES = CandidateConfig()


def hypotheses_stating(state: ProofState) -> list[str]:
    """Labels of the theorem's ``$e`` hypotheses that state the first goal exactly."""
    goal = state.goals[0]
    return [h.name for h in goal.hypotheses if h.type == goal.conclusion]


def bound_by_conclusion(pattern: Any) -> set[str]:
    """The label's variables that unifying its conclusion with a goal fixes."""
    found: set[str] = set()
    stack = [pattern.conclusion]
    while stack:
        node = stack.pop()
        var = pattern.var_of_float.get(node.label)
        if var is not None:
            found.add(var)
        stack.extend(node.children)
    return found


def canonical_action(env: Any, theorem: str, action: str) -> str | None:
    """The action with the substitutions that unification decides anyway left out, or None
    when it can never apply here (unknown label, a later statement, another theorem's
    hypothesis). A small model often gets such substitutions wrong (``{{ ps : ps }}``),
    and a wrong one makes the environment refuse an otherwise good step; the environment
    still checks everything that is left."""
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


class ApplicableActions:
    """Labels indexed by the top two levels of their conclusion's syntax tree (the head and
    its children's heads, a variable matching anything); ``labels`` is the
    index's order (e.g. most used first), which :meth:`labels` keeps."""

    def __init__(self, env: Any, labels: Sequence[str],
                 config: CandidateConfig = DEFAULT_CANDIDATES,
                 lemmas: LemmaTable | None = None) -> None:
        self.env = env
        self.config = config
        self.lemmas = lemmas or {}
        self.lemma_limit = config.lemma_limit if lemmas else 0
        self.index_lemmas = config.index_lemmas
        self._renamed_cache: dict[tuple[str, str], tuple[Any, str, bool] | None] = {}
        self.order = {label: i for i, label in enumerate(labels)}
        # typecode -> a discrimination tree of the conclusions (see _insert)
        self.index: dict[str, dict[Any, Any]] = {}
        self._exact: set[str] = set()  # labels that the index alone matches exactly
        self._position: dict[str, int] = {}  # label -> its statement's index
        self.missing: dict[str, tuple[str, ...]] = {}  # variables no conclusion fixes
        for label in labels:
            pattern = env.pattern(label)
            if isinstance(pattern, str):
                continue  # its statement does not parse: it can never apply
            bound = bound_by_conclusion(pattern)
            self.missing[label] = tuple(v for v in pattern.variables if v not in bound)
            if _insert(self.index.setdefault(pattern.statement.typecode, {}), pattern, label):
                self._exact.add(label)
            self._position[label] = pattern.statement.index
        # label -> per logical hypothesis (typecode, _skeleton): what a
        # theorem's hypotheses must offer for the label to close a goal outright
        self._needs: dict[str, tuple[tuple[str, tuple[Any, ...]], ...]] = {}
        # theorem -> label -> whether its hypotheses may match the theorem's (_may_close)
        self._may_close: dict[str, dict[str, bool]] = {}
        # the index look-ahead's answers, by target (see _index_unifiers)
        self._unifiers: dict[tuple[Any, ...], tuple[list[list[Any]], list[dict[str, Any]]]] = {}
        # ... and the table look-ahead's, by (label, hypothesis, target, open variables,
        # theorem's index): (log share, values, the fixed ones or None when all are)
        self._fills: dict[tuple[Any, ...], list[tuple[float, list[Any], Any]]] = {}
        # (label, hypothesis) -> the table's lemmas for it, which the index look-ahead skips
        self._tried: dict[tuple[str, int], frozenset[str]] = {}
        # (theorem, goal) -> label -> the actions that close the goal (closing_actions)
        self._closing_seen: dict[tuple[str, str], dict[str, list[str]]] = {}
        self._recent: dict[tuple[str, str], list[str]] = {}
        # constant -> the labels whose conclusion has it (built on first use)
        self._postings: dict[tuple[str, str], np.ndarray] | None = None
        self._weights: dict[tuple[str, str], float] = {}
        self._skeletons: dict[str, tuple[Any, ...] | None] = {}  # lemma -> _shape
        self._by_rank: list[str] = []
        self._shared: dict[tuple[str, frozenset[str], int], list[str]] = {}

    def _candidates(self, typecode: str, tree: Any) -> list[str]:
        """Labels whose conclusion can match ``tree`` (:func:`_retrieve`; a variable used
        twice, or a key cut at ``KEY_LIMIT`` symbols, still needs the full match), in the
        index's order."""
        trie = self.index.get(typecode)
        if trie is None:
            return []
        return sorted(_retrieve(trie, tree), key=self.order.__getitem__)

    def sharing(self, typecode: str, target: Any, count: int) -> list[str]:
        """Up to ``count`` labels of ``typecode`` whose conclusion shares the most rare
        constants with ``target`` (each constant weighs log(labels / labels that have it);
        one that more than ``MAX_POSTING`` labels or ``RARE_SHARE`` of them have weighs
        nothing), best first, ties in the index's order. A generic lemma (``notnot``, ``( ph -> -. -. ph )``) shares
        no rare constant with anything and is never offered."""
        if self._postings is None:
            self._build_postings()
        names = _labels(target, lambda label: label[0] == "?")
        key = (typecode, frozenset(names), count)
        found = self._shared.get(key)
        if found is not None:
            return found
        arrays, weights = [], []
        for name in names:  # a set: its order is the order the scores are summed in
            found_posting = self._postings.get((typecode, name))
            if found_posting is not None:
                arrays.append(found_posting)
                weights.append(self._weights[(typecode, name)])
        if arrays:
            ranks = np.concatenate(arrays)
            scores = np.bincount(ranks, np.repeat(weights, [len(a) for a in arrays]),
                                 minlength=len(self._by_rank))
            ranked = np.flatnonzero(scores)
            best = ranked[np.lexsort((ranked, -scores[ranked]))[:count]]
            found = [self._by_rank[rank] for rank in best.tolist()]
        else:
            found = []
        return _remember(self._shared, key, found, 4096)

    def _build_postings(self) -> None:
        """(typecode, constant) -> the ranks (index order) of the labels of that typecode
        whose conclusion has the constant (a syntax label that is not one of its
        variables), and its weight, log(labels / labels that have it); constants that
        more than ``MAX_POSTING`` labels or ``RARE_SHARE`` of them have are left out."""
        postings: dict[tuple[str, str], list[int]] = {}
        self._by_rank = sorted(self.order, key=self.order.__getitem__)
        for label in self._by_rank:
            pattern = self.env.pattern(label)
            if isinstance(pattern, str):
                continue
            typecode = pattern.statement.typecode
            for name in _labels(pattern.conclusion, pattern.var_of_float.__contains__):
                postings.setdefault((typecode, name), []).append(self.order[label])
        total = len(self.order) + 1
        rare = min(MAX_POSTING, RARE_SHARE * total)
        self._postings = {key: np.array(ranks, dtype=np.int64)
                          for key, ranks in postings.items() if len(ranks) <= rare}
        self._weights = {key: math.log(total / len(ranks)) for key, ranks in postings.items()
                         if len(ranks) <= rare}

    def labels(self, state: ProofState) -> list[str]:
        """The indexed labels that apply to the first goal, in the index's order (the last
        few answers are remembered: a policy asks again for a goal it just saw)."""
        key = (state.theorem, state.goals[0].conclusion)
        found = self._recent.get(key)
        if found is None:
            found = _remember(self._recent, key, list(self.iter_labels(state)), 256)
        return list(found)

    def iter_labels(self, state: ProofState) -> Iterator[str]:
        """:meth:`labels`, lazily (a policy that needs only the first few stops early)."""
        goal = state.goals[0]
        tree = goal.data
        typecode = goal.conclusion.split(" ", 1)[0]
        limit = self.env.db.statements[state.theorem].index
        env, exact, position = self.env, self._exact, self._position
        for label in self._candidates(typecode, tree):
            if position[label] >= limit:
                continue  # only earlier statements may be used
            if label in exact:
                yield label
                continue
            pattern = env.pattern(label)
            if env.match_pattern(pattern, pattern.conclusion, tree, {}):
                yield label

    def needs_substitution(self, label: str) -> bool:
        """Whether some variable of ``label`` is not fixed by its conclusion."""
        return bool(self.missing.get(label))

    def binds_all(self, label: str, action: str) -> bool:
        """Whether ``action`` applies ``label`` and gives every variable its conclusion
        leaves open (a model's text may forget one)."""
        try:
            parsed = parse_action(action)
        except ValueError:
            return False
        given = {var for var, _ in parsed.substitution}
        return parsed.label == label and all(v in given for v in self.missing.get(label, ()))

    def completions(self, state: ProofState, label: str, limit: int = 4) -> list[str]:
        """Up to ``limit`` actions for ``label`` on the first goal (see the module's
        docstring); [] when the conclusion does not unify or nothing fixes the rest."""
        return [action for action, _ in self.weighted_completions(state, label, limit)]

    def weighted_completions(self, state: ProofState, label: str,
                             limit: int = 4) -> list[tuple[str, float]]:
        """:meth:`completions` with a log prior each: 0 for one that unification and the
        hypotheses decide, the lemma's log share (below 0) for one the look-ahead filled."""
        return self._complete(state, label, limit, closing=False)

    def closing(self, state: ProofState, label: str, limit: int = 2) -> list[str]:
        """Actions for ``label`` that close the goal outright: every logical hypothesis of
        the label, instantiated, is one of the theorem's hypotheses (what metamath-exe's
        ``improve`` looks for), or the label has none."""
        return [action for action, _ in self._complete(state, label, limit, closing=True)]

    def closing_actions(self, state: ProofState, labels: Sequence[str],
                        limit: int) -> list[tuple[str, str]]:
        """(label, action) pairs of :meth:`closing` over ``labels`` in their order, at most
        ``limit``, one per label. A label one of whose hypotheses no hypothesis of the
        theorem can match (by typecode and top two levels, :func:`_may_close`) is passed
        over without a match; the
        answers for the last few goals are remembered (the search asks once when a goal
        is new, and again when it expands it)."""
        theorem, goal = state.theorem, state.goals[0].conclusion
        known = self._closing_seen.get((theorem, goal))
        if known is None:
            known = _remember(self._closing_seen, (theorem, goal), {}, 256)
        may = self._may_close.get(theorem)
        if may is None:
            may = _remember(self._may_close, theorem, {}, 64)
        offers = None
        out: list[tuple[str, str]] = []
        for label in labels:
            if len(out) >= limit:
                break
            actions = known.get(label)
            if actions is None:
                possible = may.get(label)
                if possible is None:
                    needs = self._needs.get(label)
                    if needs is None:
                        needs = self._needs[label] = _needs(self.env, label)
                    if offers is None:
                        offers = _offers(self.env, theorem)
                    possible = may[label] = _may_close(needs, offers)
                actions = known[label] = self.closing(state, label, 1) if possible else []
            out.extend((label, action) for action in actions)
        return out

    def _complete(self, state: ProofState, label: str, limit: int,
                  closing: bool) -> list[tuple[str, float]]:
        env = self.env
        pattern = env.pattern(label)
        if isinstance(pattern, str):
            return []
        sigma: dict[str, Any] = {}
        if not env.match_pattern(pattern, pattern.conclusion, state.goals[0].data, sigma):
            return []
        missing = [v for v in pattern.variables if v not in sigma]
        syntax = env.syntax_typecodes
        if closing:  # every logical hypothesis must be matched
            hyps = [(h[1], h[2]) for h in pattern.hyps if h[0] == "e" and h[1] not in syntax]
        else:  # only those that can fix a missing variable are worth matching
            if not missing:
                return [(label, 0.0)]
            wanted = set(missing)
            hyps = [(h[1], h[2]) for h in pattern.hyps
                    if h[0] == "e" and _mentions(pattern, h[2], wanted)]
        fill = not closing and bool(self.lemma_limit or self.index_lemmas)
        if not hyps and not fill:
            return [(label, 0.0)] if not missing else []
        facts = [(g.typecode, g.tree) for g in env.theorem(state.theorem).essentials.values()]
        if not facts and not fill:
            return []
        results: list[tuple[str, float]] = []
        seen: set[tuple[str, ...]] = set()
        partial: list[dict[str, Any]] = []  # hypotheses matched, some variable still open
        # Matching hypotheses against facts is a search with as many branches as facts per
        # hypothesis; a label with many hypotheses in a theorem with many facts would make
        # it explode, so each call gets a fixed number of match attempts.
        budget = [MATCH_BUDGET]

        def search(index: int, sigma: dict[str, Any]) -> None:
            if len(results) >= limit or budget[0] <= 0:
                return
            if index == len(hyps) or (not closing and all(v in sigma for v in missing)):
                if not all(v in sigma for v in missing):
                    if not closing and len(partial) < 4:
                        partial.append(sigma)
                    return
                values = tuple(env.grammar.text(sigma[v]) for v in missing)
                if values not in seen:
                    seen.add(values)
                    results.append((str(Action(label, tuple(zip(missing, values)))), 0.0))
                return
            typecode, hyp_tree = hyps[index]
            for fact_typecode, fact_tree in facts:
                if fact_typecode == typecode:
                    budget[0] -= 1
                    extended = dict(sigma)
                    if env.match_pattern(pattern, hyp_tree, fact_tree, extended):
                        search(index + 1, extended)
            if not closing:
                search(index + 1, sigma)  # this hypothesis stays a subgoal

        search(0, sigma)
        if not closing and (self.lemma_limit or self.index_lemmas) and len(results) < limit:
            self._look_ahead(state, pattern, missing, partial, limit, results, seen)
        return results

    def _renamed(self, label: str, prefix: str) -> tuple[Any, str, bool] | None:
        """``label``'s conclusion with its variables renamed to metavariables ``prefix`` +
        name, its typecode, and whether it has logical ``$e`` hypotheses; None when it does
        not parse. Remembered."""
        key = (label, prefix)
        if key in self._renamed_cache:
            return self._renamed_cache[key]
        pattern = self.env.pattern(label)
        found = None
        if not isinstance(pattern, str):
            meta = {v: Node(prefix + v) for v in pattern.variables}
            found = (self.env.instantiate(pattern, pattern.conclusion, meta),
                     pattern.statement.typecode,
                     any(h[0] == "e" and h[1] not in self.env.syntax_typecodes
                         for h in pattern.hyps))
        self._renamed_cache[key] = found
        return found

    def _shape(self, label: str) -> tuple[Any, ...] | None:
        """:func:`_skeleton` of ``label``'s conclusion, its variables as None (what its
        :meth:`_renamed` conclusion's would be); None when it does not parse."""
        found = self._skeletons.get(label, False)
        if found is False:
            pattern = self.env.pattern(label)
            found = self._skeletons[label] = (
                None if isinstance(pattern, str)
                else _skeleton(pattern.conclusion, pattern.var_of_float))
        return found

    def _lemma_unifiers(self, target: Any, typecode: str, per_hyp: Any, limit_index: int
                        ) -> Iterator[tuple[float, dict[str, Any]]]:
        """For each of the first ``lemma_limit`` lemmas of ``per_hyp`` (earlier than the
        theorem, of ``typecode``) whose conclusion unifies with ``target``: (log share, the
        unifier)."""
        statements = self.env.db.statements
        shape = _skeleton(target)
        for lemma, share in per_hyp[:self.lemma_limit]:
            lemma_shape = self._shape(lemma)
            if (lemma_shape is None or statements[lemma].index >= limit_index
                    or not _may_unify(shape, lemma_shape)):
                continue
            renamed = self._renamed(lemma, "?T")
            if renamed is None or renamed[1] != typecode:
                continue
            unifier: dict[str, Any] = {}
            if unify(target, renamed[0], unifier):
                yield share, unifier

    def _index_unifiers(self, target: Any, typecode: str, open_vars: Sequence[str],
                        full: dict[str, Any], limit_index: int, skip: frozenset[str]
                        ) -> tuple[list[list[Any]], list[dict[str, Any]]]:
        """Unify ``target`` with the conclusions of the earlier labels that share the most
        rare constants with it (:meth:`sharing`, ``skip`` left out; ``INDEX_BUDGET``
        unifications), ``open_vars`` being metavariables ``?L`` + name in ``full``. Returns
        at most ``index_lemmas`` value lists that fix them all to terms of the goal's own
        variables, and as many partial fixes ({variable: value} for some of them) for
        :meth:`_look_ahead` to combine with another hypothesis's; a lemma that closes the
        target outright (no hypotheses of its own) first, then by rank. Remembered for
        the last few thousand targets (sibling goals share their context: ``( ph -> ?Lps )``
        comes back often); ``full`` maps each open variable ``v`` to ``?Lv``, so the target
        and the open variables decide the answer."""
        key = (target, typecode, tuple(open_vars), limit_index, skip)
        found = self._unifiers.get(key)
        if found is None:
            found = _remember(self._unifiers, key, self._unify_index(
                target, typecode, open_vars, full, limit_index, skip), 4096)
        return found

    def _unify_index(self, target: Any, typecode: str, open_vars: Sequence[str],
                     full: dict[str, Any], limit_index: int, skip: frozenset[str]
                     ) -> tuple[list[list[Any]], list[dict[str, Any]]]:
        statements = self.env.db.statements
        seen: set[tuple[Any, ...]] = set()
        whole: list[tuple[bool, int, list[Any]]] = []
        parts: list[tuple[bool, int, dict[str, Any]]] = []
        shape = _skeleton(target)
        for rank, lemma in enumerate(self.sharing(typecode, target, INDEX_BUDGET)):
            if lemma in skip or statements[lemma].index >= limit_index:
                continue
            lemma_shape = self._shape(lemma)
            if lemma_shape is None or not _may_unify(shape, lemma_shape):
                continue
            renamed = self._renamed(lemma, "?T")
            unifier: dict[str, Any] = {}
            if renamed is None or not unify(target, renamed[0], unifier):
                continue
            values = [resolve(full[v], unifier) for v in open_vars]
            key = tuple(values)
            if key in seen:
                continue
            seen.add(key)
            fixed = _fixed(open_vars, values)
            if len(fixed) == len(open_vars):
                whole.append((renamed[2], rank, values))
            elif fixed:
                parts.append((renamed[2], rank, fixed))
        whole.sort(key=lambda entry: entry[:2])
        parts.sort(key=lambda entry: entry[:2])
        return ([values for _, _, values in whole[:self.index_lemmas]],
                [fixed for _, _, fixed in parts[:self.index_lemmas]])

    def _look_ahead(self, state: ProofState, pattern: Any, missing: Sequence[str],
                    partial: Sequence[dict[str, Any]], limit: int,
                    results: list[tuple[str, float]], seen: set[tuple[str, ...]]) -> None:
        """Fix the variables still open by the next step: unify each hypothesis that
        mentions one with the conclusion of a lemma that proved that hypothesis of this
        label in training proofs (``self.lemmas``, the ``lemma_limit`` most frequent); a
        unifier that fixes every open variable to a term of the goal's own variables gives
        a completion, whose prior is the lemma's log share (below 0: not decided). E.g.
        ``syl`` on ``|- ( F : A --> B -> F Fn A )``'s neighbours: ``ps -> ch`` against
        ``ffn``'s conclusion gives ``ps``. With ``index_lemmas``, the lemmas the conclusion index finds are unified too
        (:meth:`_index_unifiers`), after the table's, and two lemmas that each fix some of
        the open variables through different hypotheses are combined (at most
        ``index_lemmas`` such pairs, best priors first). No lemma is applied here: the
        subgoals are left to the search, which may or may not prove them."""
        env = self.env
        label = pattern.statement.label
        per_hyp = self.lemmas.get(label) or ((),) * len(pattern.hyps)
        if not any(per_hyp) and not self.index_lemmas:
            return
        goal = state.goals[0].data
        limit_index = env.db.statements[state.theorem].index
        logical = [h[2] for h in pattern.hyps
                   if h[0] == "e" and h[1] not in env.syntax_typecodes]
        found: list[tuple[float, float, tuple[str, ...]]] = []

        def record(sigma: dict[str, Any], open_vars: list[str], values: list[Any],
                   prior: float, level: float) -> None:
            done = dict(sigma)
            done.update(zip(open_vars, values))
            if any(_instance_is(pattern, h, done, goal) for h in logical):
                return  # the goal again: a step that goes nowhere
            texts = tuple(env.grammar.text(done[v]) for v in missing)
            found.append((level, min(prior, -1e-9), texts))

        for sigma in partial:
            open_vars = [v for v in missing if v not in sigma]
            full = dict(sigma)
            full.update((v, Node("?L" + v)) for v in open_vars)
            wanted = set(open_vars)
            # per hypothesis, lemmas that fix some of the open variables only: two of
            # them, from different hypotheses, may fix all (3eqtr4i's A and B)
            pieces: list[list[tuple[dict[str, Any], float]]] = []
            for number, (hyp, lemmas) in enumerate(zip(pattern.hyps, per_hyp)):
                if hyp[0] != "e" or not _mentions(pattern, hyp[2], wanted):
                    continue
                target = env.instantiate(pattern, hyp[2], full)
                hyp_pieces: list[tuple[dict[str, Any], float]] = []
                pieces.append(hyp_pieces)
                if self.index_lemmas:
                    tried = self._tried.get((label, number))
                    if tried is None:
                        tried = self._tried[(label, number)] = frozenset(
                            lemma for lemma, _ in lemmas[:self.lemma_limit])
                    whole, parts = self._index_unifiers(target, hyp[1], open_vars, full,
                                                        limit_index, tried)
                    for rank, values in enumerate(whole):
                        record(sigma, open_vars, values, -math.log(rank + 2), 1.5)
                    if len(open_vars) > 1:
                        hyp_pieces += [(fixed, -math.log(rank + 2))
                                       for rank, fixed in enumerate(parts)]
                if not lemmas:
                    continue
                key = (label, number, target, tuple(open_vars), limit_index)
                fills = self._fills.get(key)
                if fills is None:
                    fills = []
                    for share, unifier in self._lemma_unifiers(target, hyp[1], lemmas,
                                                               limit_index):
                        values = [resolve(full[v], unifier) for v in open_vars]
                        fills.append((share, values, _fixed(open_vars, values)
                                      if any(value.meta for value in values) else None))
                    _remember(self._fills, key, fills, 4096)
                for share, values, fixed in fills:
                    if fixed is None:  # every open variable fixed
                        record(sigma, open_vars, values, share, 1)
                    elif (fixed and self.index_lemmas
                            and len(hyp_pieces) < 2 * self.index_lemmas):
                        hyp_pieces.append((fixed, share))
            combined: list[tuple[float, dict[str, Any]]] = []
            for first, second in itertools.combinations(pieces, 2):
                for (a, prior_a), (b, prior_b) in itertools.product(first[:8], second[:8]):
                    if (len(a.keys() | b.keys()) == len(open_vars)
                            and all(a[v] == b[v] for v in a.keys() & b.keys())):
                        combined.append((prior_a + prior_b, {**a, **b}))
            combined.sort(key=lambda entry: -entry[0])
            for prior, merged in combined[:self.index_lemmas]:
                record(sigma, open_vars, [merged[v] for v in open_vars], prior, 1.75)
        found.sort(key=lambda entry: (entry[0], -entry[1]))  # one level before two
        for _, prior, texts in found:
            if len(results) >= limit:
                return
            if texts not in seen:
                seen.add(texts)
                results.append((str(Action(label, tuple(zip(missing, texts)))), prior))



def _remember(cache: dict[Any, Any], key: Any, value: Any, size: int) -> Any:
    """Store ``value`` under ``key`` in ``cache``, first dropping the oldest entry when it
    holds ``size``; returns ``value``."""
    if len(cache) >= size:
        cache.pop(next(iter(cache)))
    cache[key] = value
    return value


def _needs(env: Any, label: str) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    """Per logical hypothesis of ``label``: its typecode and :func:`_skeleton`, the label's
    variables as None (they match anything of their typecode)."""
    pattern = env.pattern(label)
    if isinstance(pattern, str):
        return (("", (None, ())),)  # never closes anything
    variables = pattern.var_of_float
    return tuple((h[1], _skeleton(h[2], variables)) for h in pattern.hyps
                 if h[0] == "e" and h[1] not in env.syntax_typecodes)


def _offers(env: Any, theorem: str) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    """The typecode and :func:`_skeleton` of each of ``theorem``'s ``$e`` hypotheses."""
    return tuple((g.typecode, _skeleton(g.tree, {}))
                 for g in env.theorem(theorem).essentials.values())


def _may_close(needs: tuple[tuple[str, tuple[Any, ...]], ...],
               offers: tuple[tuple[str, tuple[Any, ...]], ...]) -> bool:
    """Whether each hypothesis in ``needs`` may match one in ``offers`` (top two levels)."""
    return all(any(typecode == offered and _may_unify(shape, fact) for offered, fact in offers)
               for typecode, shape in needs)


# The conclusion index: a discrimination tree per typecode. A conclusion's key is its
# syntax tree's labels in pre-order, a variable of the label written _STAR (it matches a
# whole sub-tree of the goal), cut after KEY_LIMIT symbols; _END holds the labels whose key
# ends at a node, _CUT those whose key was cut there (no Metamath label is "*", "" or "...").
KEY_LIMIT = 24
_STAR, _END, _CUT = "*", "", "..."


def _insert(trie: dict[Any, Any], pattern: Any, label: str) -> bool:
    """Add ``label``'s conclusion to ``trie``; whether a match of its key is a match of the
    conclusion (the key was not cut and no variable occurs twice)."""
    node, stack, size = trie, [pattern.conclusion], 0
    variables = pattern.var_of_float
    seen: set[str] = set()
    linear = True
    while stack:
        if size == KEY_LIMIT:
            node.setdefault(_CUT, []).append(label)
            return False
        tree = stack.pop()
        if tree.label in variables:
            node = node.setdefault(_STAR, {})
            linear = linear and tree.label not in seen
            seen.add(tree.label)
        else:
            node = node.setdefault(tree.label, {})
            stack.extend(reversed(tree.children))
        size += 1
    node.setdefault(_END, []).append(label)
    return linear


def _retrieve(trie: dict[Any, Any], tree: Any) -> list[str]:
    """The labels in ``trie`` whose key matches ``tree``: every label whose conclusion
    matches it, and some whose repeated variables or cut key do not."""
    symbols: list[str] = []  # the goal in pre-order
    ends: list[int] = []  # for each position, the position after its sub-tree

    def flatten(node: Any) -> None:  # recursive, as Grammar.text is over the same trees
        position = len(symbols)
        symbols.append(node.label)
        ends.append(0)
        for child in node.children:
            flatten(child)
        ends[position] = len(symbols)

    flatten(tree)
    size = len(symbols)
    found: list[str] = []
    todo: list[tuple[dict[Any, Any], int]] = [(trie, 0)]
    while todo:
        node, position = todo.pop()
        cut = node.get(_CUT)
        if cut:
            found += cut
        if position == size:
            found += node.get(_END, ())
            continue
        child = node.get(symbols[position])
        if child is not None:
            todo.append((child, position + 1))
        child = node.get(_STAR)
        if child is not None:
            todo.append((child, ends[position]))
    return found


def _skeleton(node: Any, variables: Any = None) -> tuple[Any, ...]:
    """A tree's head and its children's heads, None for a metavariable (``?...``, or with
    ``variables``, a label in it)."""
    def head(label: str) -> str | None:
        if variables is None:
            return None if label[0] == "?" else label
        return None if label in variables else label

    top = head(node.label)
    if top is None:
        return (None, ())
    return (top, tuple(head(c.label) for c in node.children))


def _may_unify(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """False when the top two levels of two trees (:func:`_skeleton`, with no unifier yet)
    already clash: then :func:`unify` would fail; True otherwise."""
    if a[0] is None or b[0] is None:
        return True
    if a[0] != b[0]:
        return False
    for x, y in zip(a[1], b[1]):
        if x is not None and y is not None and x != y:
            return False
    return True


def _instance_is(pattern: Any, tree: Any, sigma: dict[str, Any], target: Any) -> bool:
    """Whether pattern tree ``tree`` of ``pattern``, with ``sigma`` (every variable of it)
    substituted, is ``target`` (what ``env.instantiate(...) == target`` says, without
    building the instance)."""
    var = pattern.var_of_float.get(tree.label)
    if var is not None:
        return sigma[var] == target
    if tree.label != target.label:
        return False
    return all(_instance_is(pattern, child, sigma, other)
               for child, other in zip(tree.children, target.children))


def _walk(node: Any, unifier: dict[str, Any]) -> Any:
    while node.label[0] == "?" and node.label in unifier:
        node = unifier[node.label]
    return node


def _occurs(label: str, node: Any, unifier: dict[str, Any]) -> bool:
    stack = [node]
    while stack:
        node = stack.pop()
        if not node.meta:
            continue  # no metavariable below: nothing to find, nothing bound
        node = _walk(node, unifier)
        if node.label == label:
            return True
        stack.extend(node.children)
    return False


def unify(a: Any, b: Any, unifier: dict[str, Any]) -> bool:
    """First-order unification of two syntax trees whose metavariables are leaves labelled
    ``?...`` (no Metamath label starts with ``?``), extending ``unifier`` (metavariable ->
    tree, triangular: apply with :func:`resolve`). Every other node, the goal's own
    variables included, is a constant."""
    stack = [(a, b)]
    pop, extend = stack.pop, stack.extend
    while stack:
        x, y = pop()
        if x.meta:
            x = _walk(x, unifier)
        if y.meta:
            y = _walk(y, unifier)
        if x is y or x == y:
            continue
        if not x.meta and not y.meta:
            return False  # two different trees without metavariables
        if x.label[0] == "?":
            if _occurs(x.label, y, unifier):
                return False
            unifier[x.label] = y
        elif y.label[0] == "?":
            if _occurs(y.label, x, unifier):
                return False
            unifier[y.label] = x
        elif x.label != y.label or len(x.children) != len(y.children):
            return False
        else:
            extend(zip(x.children, y.children))
    return True


def resolve(node: Any, unifier: dict[str, Any]) -> Any:
    """``node`` with ``unifier`` applied throughout."""
    if not node.meta:
        return node
    node = _walk(node, unifier)
    old = node.children
    if not old or not node.meta:
        return node
    new = [resolve(child, unifier) for child in old]
    for fresh, child in zip(new, old):
        if fresh is not child:
            return Node(node.label, tuple(new))
    return node


def _fixed(variables: Sequence[str], values: Sequence[Any]) -> dict[str, Any]:
    """The variables whose value has no metavariable left, with their values."""
    return {v: value for v, value in zip(variables, values) if not value.meta}


def _labels(tree: Any, skip: Any) -> set[str]:
    """The labels of ``tree``'s nodes for which ``skip(label)`` is false."""
    found: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if not skip(node.label):
            found.add(node.label)
        stack.extend(node.children)
    return found


def _mentions(pattern: Any, tree: Any, variables: set[str]) -> bool:
    stack = [tree]
    while stack:
        node = stack.pop()
        if pattern.var_of_float.get(node.label) in variables:
            return True
        stack.extend(node.children)
    return False
