"""The applicable-action generator the Metamath policies share, on the real set.mm (our own
environment, no prover process)."""

from __future__ import annotations

import dataclasses
import math

import pytest

from provergym.api import Rejected
from provergym.metamath.actions import ApplicableActions, CandidateConfig, hypotheses_stating
from provergym.metamath.policies import (
    FrequencyPolicy,
    UniformPolicy,
    training_label_counts,
    training_lemma_table,
)
from provergym.search.bestfirst import SearchConfig, best_first_search
from tests.metamath.mmdb import environment

pytestmark = pytest.mark.slow  # parses all of set.mm once per process


@pytest.fixture(scope="module")
def env():
    return environment("set")


@pytest.fixture(scope="module")
def early(env):
    """The logical assertions among set.mm's first 400 statements, in database order."""
    return [s.label for s in env.db.assertions()
            if s.typecode not in env.syntax_typecodes and s.index < 400]


def test_labels_are_earlier_and_unify(env, early):
    actions = ApplicableActions(env, early)
    state = env.open("3syl")
    labels = actions.labels(state)
    limit = env.db.statements["3syl"].index
    assert "syl" in labels and "3syl" not in labels
    assert all(env.db.statements[label].index < limit for label in labels)
    for label in labels:  # the environment agrees that each conclusion unifies
        result = env.step(state, label)
        assert not (isinstance(result, Rejected) and "does not unify" in result.reason), label
    # a label that applies to no goal of this shape is not offered
    assert "ax-1" not in labels  # |- ( ph -> ( ps -> ph ) ) does not unify with ( ph -> th )


def test_hypotheses_fix_the_variables_the_conclusion_leaves_open(env, early):
    actions = ApplicableActions(env, early)
    state = env.open("3syl")
    # syl's ps is found from 3syl's hypotheses: ( ph -> ps ) gives ps, ( ch -> th ) gives ch
    assert actions.completions(state, "syl") == ["syl {{ ps : ps }}", "syl {{ ps : ch }}"]
    assert actions.needs_substitution("syl") and not actions.needs_substitution("ax-1")
    mp2 = env.open("mp2")
    completions = actions.completions(mp2, "ax-mp", limit=8)
    assert "ax-mp {{ ph : ps }}" in completions
    for action in completions:  # every completion is a step the environment accepts
        assert not isinstance(env.step(mp2, action), Rejected), action
    # a label its conclusion fully decides is offered alone; one that does not unify, never
    instance = env.goal_state("3syl", "|- ( ch -> ( ( ph -> ps ) -> ch ) )")
    assert actions.completions(instance, "ax-1") == ["ax-1"]
    assert actions.completions(state, "ax-1") == []


def test_nothing_fixes_a_variable_without_hypotheses(env, early):
    actions = ApplicableActions(env, early)
    state = env.open("id")  # |- ( ph -> ph ), no hypotheses: syl's ps is left to a model
    assert "syl" in actions.labels(state)
    assert actions.completions(state, "syl") == []


def test_lemma_table_reads_training_proofs(env):
    before = [s.label for s in env.db.theorems() if s.index < env.db.statements["orordir"].index]
    table = training_lemma_table(env.db, before, env.syntax_typecodes, keep=4)
    # bitr3i's hypotheses: wff $f's (no lemmas), then |- ( ps <-> ph ), |- ( ps <-> ch )
    kinds = [env.db.statements[h].kind for h in env.db.statements["bitr3i"].hypotheses]
    assert [bool(lemmas) for lemmas in table["bitr3i"]] == [False] * kinds.count("f") + [True] * 2
    for per_hyp in table.values():
        for lemmas in per_hyp:
            assert len(lemmas) <= 4
            shares = [share for _, share in lemmas]
            assert shares == sorted(shares, reverse=True) and all(s <= 0 for s in shares)
            assert sum(math.exp(s) for s in shares) <= 1 + 1e-9
            assert all(env.db.statements[lemma].kind in "ap" for lemma, _ in lemmas)


def _before(env, theorem):
    """The logical labels before ``theorem``, and the lemma table of the proofs before it."""
    limit = env.db.statements[theorem].index
    labels = [s.label for s in env.db.assertions()
              if s.typecode not in env.syntax_typecodes and s.index < limit]
    before = [s.label for s in env.db.theorems() if s.index < limit]
    return labels, training_lemma_table(env.db, before, env.syntax_typecodes)


def test_lemma_look_ahead_fixes_what_no_hypothesis_does(env):
    # orordir, |- ( ( ( ph \/ ps ) \/ ch ) <-> ( ( ph \/ ch ) \/ ( ps \/ ch ) ) ), has no
    # hypotheses; its proof ends with bitr3i, whose ps no hypothesis fixes. Earlier proofs
    # prove bitr3i's hypotheses with lemmas whose conclusions, unified with them, fix ps:
    # the proof's own step comes first, from the theorems before orordir alone.
    labels, table = _before(env, "orordir")
    state = env.open("orordir")
    own = "bitr3i {{ ps : ( ( ph \\/ ps ) \\/ ( ch \\/ ch ) ) }}"
    assert ApplicableActions(env, labels, CandidateConfig(index_lemmas=0)).completions(
        state, "bitr3i", limit=8) == []
    assert ApplicableActions(env, labels, CandidateConfig(lemma_limit=0, index_lemmas=0),
                             table).completions(state, "bitr3i", limit=8) == []
    look = ApplicableActions(env, labels, lemmas=table)
    weighted = look.weighted_completions(state, "bitr3i", limit=8)
    assert weighted[0][0] == own and weighted[0][1] < 0  # a prior, not a certainty
    assert not isinstance(env.step(state, own), Rejected)
    for label in look.labels(state)[:40]:  # every completion is a step the env accepts
        for action, prior in look.weighted_completions(state, label, limit=8):
            assert prior <= 0
            assert not isinstance(env.step(state, action), Rejected), action
    with pytest.raises(ValueError):
        CandidateConfig(lemma_limit=-1)


def test_index_look_ahead_fixes_what_the_lemma_table_does_not(env):
    # domprobsiga, |- ( P e. Prob -> dom P e. U. ran sigAlgebra ), is syl with ps fixed by
    # domprobmeas, |- ( P e. Prob -> P e. ( measures ` dom P ) ), a lemma too rare to be in
    # any table of frequent lemmas. The conclusion index finds it by the rare constants it
    # shares with syl's hypothesis ( P e. Prob -> ?ps ), and it closes that hypothesis
    # outright, so it comes first; a generic lemma (notnot: ps := -. -. P e. Prob) is not
    # offered, and nothing from domprobmeas on is used before it exists.
    labels, _ = _before(env, "domprobsiga")
    state = env.open("domprobsiga")
    own = "syl {{ ps : P e. ( measures ` dom P ) }}"
    assert ApplicableActions(env, labels, CandidateConfig(index_lemmas=0)).completions(state, "syl", limit=8) == []
    index = ApplicableActions(env, labels, CandidateConfig(index_lemmas=4))
    weighted = index.weighted_completions(state, "syl", limit=8)
    assert weighted[0][0] == own and weighted[0][1] < 0  # a prior, not a certainty
    assert len(weighted) <= 4
    assert "syl {{ ps : -. -. P e. Prob }}" not in [a for a, _ in weighted]
    for label in index.labels(state)[:40]:  # every completion is a step the env accepts
        for action, prior in index.weighted_completions(state, label, limit=8):
            assert prior <= 0
            assert not isinstance(env.step(state, action), Rejected), action
    # the same goal in a theorem that comes before domprobmeas: its step is not offered
    before = max((s for s in env.db.theorems()
                  if s.index < env.db.statements["domprobmeas"].index), key=lambda s: s.index)
    early = env.goal_state(before.label, state.goals[0].conclusion)
    assert own not in index.completions(early, "syl", limit=64)
    with pytest.raises(ValueError):
        CandidateConfig(index_lemmas=-1)


def test_two_lemmas_for_two_hypotheses_fix_two_open_variables(env):
    # resima, |- ( ( A |` B ) " B ) = ( A " B ), is 3eqtr4i with A and B open; df-ima
    # fixes A through one hypothesis, |- ( ( A |` B ) " B ) = ?A, and B through another,
    # |- ( A " B ) = ?B; neither alone fixes both, together they give the proof's step.
    labels, table = _before(env, "resima")
    state = env.open("resima")
    own = "3eqtr4i {{ A : ran ( ( A |` B ) |` B ) }} {{ B : ran ( A |` B ) }}"
    assert ApplicableActions(env, labels, CandidateConfig(index_lemmas=0), table).completions(
        state, "3eqtr4i", limit=64) == []
    found = ApplicableActions(env, labels, CandidateConfig(index_lemmas=4), table).completions(
        state, "3eqtr4i", limit=8)
    assert own in found and len(found) <= 8
    assert not isinstance(env.step(state, own), Rejected)


def test_a_hypothesis_that_states_the_goal_is_found(env):
    step = env.step(env.open("mp2"), "ax-mp {{ ph : ps }}")
    assert hypotheses_stating(step.state) == ["mp2.2"]


def test_frequency_and_uniform_prove_with_completed_substitutions(env, early):
    counts = training_label_counts(env.db, [s.label for s in env.db.theorems()
                                            if s.index < 400], env.syntax_typecodes)
    config = SearchConfig(expansions=16, candidates=8, time_limit=30)
    # each of these proofs needs a step whose substitution no conclusion decides
    cases = [(FrequencyPolicy(env, counts, early), ("3syl", "mp2", "mpd", "syl5", "a1d")),
             (UniformPolicy(env, early), ("3syl", "mp2"))]
    for policy, theorems in cases:
        for theorem in theorems:
            result = best_first_search(env, theorem, policy, config)
            assert result.status == "proved", (type(policy).__name__, theorem, result.status)
            assert any("{{" in action for action in result.actions)


def test_closing_goals_in_one_step_saves_expansions(env, early):
    counts = training_label_counts(env.db, [s.label for s in env.db.theorems()
                                            if s.index < 400], env.syntax_typecodes)
    policy = FrequencyPolicy(env, counts, early)
    config = SearchConfig(expansions=16, close_in_one_step=False)
    assert SearchConfig().close_in_one_step  # on by default
    for theorem in ("a1d", "com12", "mpii"):
        plain = best_first_search(env, theorem, policy, config)
        eager = best_first_search(env, theorem, policy,
                                  dataclasses.replace(config, close_in_one_step=True))
        assert eager.status == "proved" and eager.checks == {"kernel": "ok"}
        assert plain.status != "proved" or eager.stats.expansions < plain.stats.expansions
    # without hypotheses as shortcuts, a subgoal stated by one costs an expansion
    plain = best_first_search(env, "syl5com", policy, config)
    slow = best_first_search(env, "syl5com", policy,
                             dataclasses.replace(config, close_by_hypothesis=False))
    assert plain.status == "proved"
    assert slow.status != "proved" or slow.stats.expansions > plain.stats.expansions
