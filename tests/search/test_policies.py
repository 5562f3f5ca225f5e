"""Model-free policies and the canonical form of model actions, on hol.mm (no prover
process: our own environment only)."""

from __future__ import annotations

import pytest

from provergym.api import Progress
from provergym.bench.improve import parse_improve_output
from provergym.coq.policies import FixedTactics
from provergym.metamath.actions import canonical_action
from provergym.metamath.env import MetamathEnv
from provergym.search.policies import WithFallback

DEMO0 = "/usr/share/metamath/databases/demo0.mm"
HOL = "/usr/share/metamath/databases/hol.mm"


@pytest.fixture(scope="module")
def env():
    return MetamathEnv(DEMO0)


def test_canonical_action_drops_what_unification_decides(env):
    # mp's conclusion |- Q fixes Q; P is free and must stay. A wrong Q is dropped.
    assert canonical_action(env, "th1", "mp {{ P : t = t }} {{ Q : r = r }}") == \
        "mp {{ P : t = t }}"
    # A variable the label does not have is dropped too.
    assert canonical_action(env, "th1", "a2 {{ t : 0 }} {{ zz : 0 }}") == "a2"
    assert canonical_action(env, "th1", "no-such-label") is None
    assert canonical_action(env, "th1", "min") is None  # mp's hypothesis, not th1's
    assert canonical_action(env, "th1", "not an action {{") is None


def test_canonical_action_is_accepted_where_the_raw_one_is_not(env):
    state = env.open("th1")
    raw = "mp {{ P : t = t }} {{ Q : r = r }}"
    canonical = canonical_action(env, "th1", raw)
    assert "contradicts" in env.step(state, raw).reason
    assert isinstance(env.step(state, canonical), Progress)


def test_later_statements_are_never_proposed():
    hol = MetamathEnv(HOL)
    assert canonical_action(hol, "idi", "jca") is None  # jca comes after idi
    assert canonical_action(hol, "jca", "idi") == "idi"


def test_fixed_tactics_and_fallback():
    fixed = FixedTactics(("auto.", "split."))
    with_sauto = WithFallback(fixed, ("sauto.", "auto."), fallback_logprob=-9.0)
    # the fallback takes its slots out of the n candidates (the search keeps only n)
    proposals = with_sauto.propose(None, 4)
    assert [a for a, _ in proposals] == ["auto.", "split.", "sauto."]
    assert proposals[-1][1] == -9.0
    assert [a for a, _ in with_sauto.propose(None, 3)] == ["auto.", "sauto."]
    assert [a for a, _ in with_sauto.propose(None, 1)] == ["sauto."]


def test_improve_output_parsing():
    output = (
        'MM> prove a1i\nProof of "a1i":\n---------Clip out the proof below this line:\n'
        '      wph wps wph wi a1i.1 wph wps ax-1 ax-mp $.\n'
        '---------The proof of "a1i" (39 bytes) ends above this line.\n'
        'MM> prove mp2\nProof of "mp2":\n---------Clip out the proof below this line:\n'
        '      ? $.\n---------The proof of "mp2" (1 bytes) ends above this line.\n'
        'MM> prove cut\nProof of "cut":\n---------Clip out\n      wph')
    found = parse_improve_output(output, ["a1i", "mp2", "cut", "never"])
    assert found == {"a1i": "wph wps wph wi a1i.1 wph wps ax-1 ax-mp", "mp2": None}


class _Scripted:
    """Stands in for the trained model and the k-NN in the mixing logic's unit test: fixed
    proposals and fixed log-probabilities."""

    def __init__(self, ranked, logprobs=None):
        self.ranked, self.logprobs = ranked, logprobs or {}

    def propose(self, state, n):
        return self.ranked[:n]

    def score(self, state, texts):
        return [self.logprobs[t] for t in texts]


def test_model_and_retrieval_mix_as_knn_lm():
    import math

    from agents.search_policies import ModelPolicy

    policy = ModelPolicy.__new__(ModelPolicy)
    own = {"reflexivity.": math.log(0.04), "split.": math.log(0.03), "by [].": math.log(0.02),
           "a.": math.log(0.001), "b.": math.log(0.001), "c.": math.log(0.001)}
    policy.model = _Scripted([(t, lp) for t, lp in own.items() if t in
                              ("reflexivity.", "split.", "by [].")], own)
    policy.retrieval = _Scripted([(t, math.log(0.2)) for t in ("a.", "b.", "c.", "split.")])
    policy.env, policy.retrieval_weight = None, 0.5
    proposals = policy.propose(None, 4)
    # p = 0.5 * p_knn + 0.5 * p_model over the union; the best 4, best first
    assert [t for t, _ in proposals] == ["split.", "a.", "b.", "c."]
    scores = dict(proposals)
    assert scores["split."] == pytest.approx(math.log(0.5 * 0.2 + 0.5 * 0.03))
    assert scores["a."] == pytest.approx(math.log(0.5 * 0.2 + 0.5 * 0.001))
    policy.retrieval_weight = 1.0  # retrieval alone: the model's own tactics score nothing
    alone = policy.propose(None, 6)
    assert sorted(t for t, _ in alone[:4]) == ["a.", "b.", "c.", "split."]
    assert alone[0][1] == pytest.approx(math.log(0.2)) and alone[-1][1] < -600
    with pytest.raises(ValueError, match="retrieval_weight"):
        ModelPolicy("no-model", retrieval_weight=0.5)
