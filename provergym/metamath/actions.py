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

import heapq
import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

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
        self._renamed_cache: dict[tuple[str, str], tuple[Any, str, tuple] | None] = {}
        self.order = {label: i for i, label in enumerate(labels)}
        # (typecode, head, the heads of its children, "*" for a child that is a variable)
        self.by_head: dict[tuple[str, str, tuple[str, ...]], list[str]] = {}
        self.wildcards: dict[str, list[str]] = {}  # the conclusion is a bare variable
        self.missing: dict[str, tuple[str, ...]] = {}  # variables no conclusion fixes
        for label in labels:
            pattern = env.pattern(label)
            if isinstance(pattern, str):
                continue  # its statement does not parse: it can never apply
            bound = bound_by_conclusion(pattern)
            self.missing[label] = tuple(v for v in pattern.variables if v not in bound)
            typecode = pattern.statement.typecode
            head = pattern.conclusion.label
            if head in pattern.var_of_float:
                self.wildcards.setdefault(typecode, []).append(label)
            else:
                shape = tuple("*" if c.label in pattern.var_of_float else c.label
                              for c in pattern.conclusion.children)
                self.by_head.setdefault((typecode, head, shape), []).append(label)
        self._merged: dict[tuple[str, str, tuple[str, ...]], list[str]] = {}
        self._recent: dict[tuple[str, str], list[str]] = {}
        # constant -> the labels whose conclusion has it (built on first use)
        self._postings: dict[tuple[str, str], list[int]] | None = None
        self._by_rank: list[str] = []
        self._shared: dict[tuple[str, frozenset[str], int], list[str]] = {}

    def _candidates(self, typecode: str, tree: Any) -> list[str]:
        """Labels whose conclusion can match ``tree`` at its top two levels, in order."""
        heads = tuple(c.label for c in tree.children)
        key = (typecode, tree.label, heads)
        found = self._merged.get(key)
        if found is None:
            found = list(self.wildcards.get(typecode, []))
            for shape in itertools.product(*((h, "*") for h in heads)):
                found += self.by_head.get((typecode, tree.label, shape), [])
            found = sorted(set(found), key=self.order.__getitem__)
            if len(self._merged) > 100_000:
                self._merged.clear()
            self._merged[key] = found
        return found

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
        total = len(self.order) + 1
        rare = min(MAX_POSTING, RARE_SHARE * total)
        scores: dict[int, float] = {}
        for name in names:
            posting = self._postings.get((typecode, name), ())
            if not posting or len(posting) > rare:
                continue
            weight = math.log(total / len(posting))
            for rank in posting:
                scores[rank] = scores.get(rank, 0.0) + weight
        best = heapq.nsmallest(count, scores, key=lambda rank: (-scores[rank], rank))
        found = [self._by_rank[rank] for rank in best]
        if len(self._shared) >= 4096:
            self._shared.pop(next(iter(self._shared)))
        self._shared[key] = found
        return found

    def _build_postings(self) -> None:
        """(typecode, constant) -> the ranks (index order) of the labels of that typecode
        whose conclusion has the constant (a syntax label that is not one of its variables)."""
        self._postings = {}
        self._by_rank = sorted(self.order, key=self.order.__getitem__)
        for label in self._by_rank:
            pattern = self.env.pattern(label)
            if isinstance(pattern, str):
                continue
            typecode = pattern.statement.typecode
            for name in _labels(pattern.conclusion, pattern.var_of_float.__contains__):
                self._postings.setdefault((typecode, name), []).append(self.order[label])

    def labels(self, state: ProofState) -> list[str]:
        """The indexed labels that apply to the first goal, in the index's order (the last
        few answers are remembered: a policy asks again for a goal it just saw)."""
        key = (state.theorem, state.goals[0].conclusion)
        found = self._recent.get(key)
        if found is None:
            found = list(self.iter_labels(state))
            if len(self._recent) >= 256:
                self._recent.pop(next(iter(self._recent)))
            self._recent[key] = found
        return list(found)

    def iter_labels(self, state: ProofState) -> Iterator[str]:
        """:meth:`labels`, lazily (a policy that needs only the first few stops early)."""
        goal = state.goals[0]
        tree = goal.data
        typecode = goal.conclusion.split(" ", 1)[0]
        limit = self.env.db.statements[state.theorem].index
        env = self.env
        for label in self._candidates(typecode, tree):
            pattern = env.pattern(label)
            if pattern.statement.index >= limit:
                continue  # only earlier statements may be used
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
        ``limit``, one per label."""
        out: list[tuple[str, str]] = []
        for label in labels:
            if len(out) >= limit:
                break
            out.extend((label, action) for action in self.closing(state, label, 1))
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

    def _renamed(self, label: str, prefix: str) -> tuple[Any, str, tuple] | None:
        """``label``'s conclusion, its typecode and its logical ``$e`` hypotheses (as
        (index among its hypotheses, typecode, tree)), its variables renamed to
        metavariables ``prefix`` + name; None when it does not parse. Remembered."""
        key = (label, prefix)
        if key in self._renamed_cache:
            return self._renamed_cache[key]
        pattern = self.env.pattern(label)
        found = None
        if not isinstance(pattern, str):
            meta = {v: Node(prefix + v) for v in pattern.variables}
            hyps = tuple((i, h[1], self.env.instantiate(pattern, h[2], meta))
                         for i, h in enumerate(pattern.hyps)
                         if h[0] == "e" and h[1] not in self.env.syntax_typecodes)
            found = (self.env.instantiate(pattern, pattern.conclusion, meta),
                     pattern.statement.typecode, hyps)
        self._renamed_cache[key] = found
        return found

    def _lemma_unifiers(self, target: Any, typecode: str, per_hyp: Any, limit_index: int
                        ) -> Iterator[tuple[float, dict[str, Any]]]:
        """For each of the first ``lemma_limit`` lemmas of ``per_hyp`` (earlier than the
        theorem, of ``typecode``) whose conclusion unifies with ``target``: (log share, the
        unifier)."""
        statements = self.env.db.statements
        for lemma, share in per_hyp[:self.lemma_limit]:
            renamed = self._renamed(lemma, "?T")
            if (renamed is None or renamed[1] != typecode
                    or statements[lemma].index >= limit_index):
                continue
            unifier: dict[str, Any] = {}
            if unify(target, renamed[0], unifier):
                yield share, unifier

    def _index_unifiers(self, target: Any, typecode: str, open_vars: Sequence[str],
                        full: dict[str, Any], limit_index: int, skip: set[str]
                        ) -> tuple[list[list[Any]], list[dict[str, Any]]]:
        """Unify ``target`` with the conclusions of the earlier labels that share the most
        rare constants with it (:meth:`sharing`, ``skip`` left out; ``INDEX_BUDGET``
        unifications), ``open_vars`` being metavariables ``?L`` + name in ``full``. Returns
        at most ``index_lemmas`` value lists that fix them all to terms of the goal's own
        variables, and as many partial fixes ({variable: value} for some of them) for
        :meth:`_look_ahead` to combine with another hypothesis's; a lemma that closes the
        target outright (no hypotheses of its own) first, then by rank."""
        statements = self.env.db.statements
        seen: set[tuple[Any, ...]] = set()
        whole: list[tuple[bool, int, list[Any]]] = []
        parts: list[tuple[bool, int, dict[str, Any]]] = []
        for rank, lemma in enumerate(self.sharing(typecode, target, INDEX_BUDGET)):
            if lemma in skip or statements[lemma].index >= limit_index:
                continue
            renamed = self._renamed(lemma, "?T")
            if renamed is None:
                continue
            unifier: dict[str, Any] = {}
            if not unify(target, renamed[0], unifier):
                continue
            values = [resolve(full[v], unifier) for v in open_vars]
            key = tuple(values)
            if key in seen:
                continue
            seen.add(key)
            fixed = _fixed(open_vars, values)
            if len(fixed) == len(open_vars):
                whole.append((len(renamed[2]) > 0, rank, values))
            elif fixed:
                parts.append((len(renamed[2]) > 0, rank, fixed))
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
            if any(env.instantiate(pattern, h, done) == goal for h in logical):
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
            for hyp, lemmas in zip(pattern.hyps, per_hyp):
                if hyp[0] != "e" or not _mentions(pattern, hyp[2], wanted):
                    continue
                target = env.instantiate(pattern, hyp[2], full)
                hyp_pieces: list[tuple[dict[str, Any], float]] = []
                pieces.append(hyp_pieces)
                if self.index_lemmas:
                    tried = {lemma for lemma, _ in lemmas[:self.lemma_limit]}
                    whole, parts = self._index_unifiers(target, hyp[1], open_vars, full,
                                                        limit_index, tried)
                    for rank, values in enumerate(whole):
                        record(sigma, open_vars, values, -math.log(rank + 2), 1.5)
                    if len(open_vars) > 1:
                        hyp_pieces += [(fixed, -math.log(rank + 2))
                                       for rank, fixed in enumerate(parts)]
                if not lemmas:
                    continue
                for share, unifier in self._lemma_unifiers(target, hyp[1], lemmas,
                                                           limit_index):
                    values = [resolve(full[v], unifier) for v in open_vars]
                    still = _metavariables(values)
                    if not still:
                        record(sigma, open_vars, values, share, 1)
                        continue
                    if self.index_lemmas and len(hyp_pieces) < 2 * self.index_lemmas:
                        fixed = _fixed(open_vars, values)
                        if fixed:
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



def _walk(node: Any, unifier: dict[str, Any]) -> Any:
    while node.label[0] == "?" and node.label in unifier:
        node = unifier[node.label]
    return node


def _occurs(label: str, node: Any, unifier: dict[str, Any]) -> bool:
    stack = [node]
    while stack:
        node = _walk(stack.pop(), unifier)
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
    while stack:
        x, y = stack.pop()
        x, y = _walk(x, unifier), _walk(y, unifier)
        if x is y or x == y:
            continue
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
            stack.extend(zip(x.children, y.children))
    return True


def resolve(node: Any, unifier: dict[str, Any]) -> Any:
    """``node`` with ``unifier`` applied throughout."""
    node = _walk(node, unifier)
    if not node.children:
        return node
    children = tuple(resolve(c, unifier) for c in node.children)
    if all(new is old for new, old in zip(children, node.children)):
        return node
    return Node(node.label, children)


def _fixed(variables: Sequence[str], values: Sequence[Any]) -> dict[str, Any]:
    """The variables whose value has no metavariable left, with their values."""
    return {v: value for v, value in zip(variables, values) if not _metavariables([value])}


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


def _metavariables(nodes: Sequence[Any]) -> set[str]:
    found: set[str] = set()
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if node.label[0] == "?":
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
