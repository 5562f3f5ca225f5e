"""Expert iteration on Coq, end to end with the real prover: a proof found with the sauto
fallback becomes k-NN records, and the next round's index proposes its tactic first."""

from __future__ import annotations

import json

import pytest

from tests.search.test_coq_search import TINY, coq, knn_corpus  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow


def test_found_proofs_teach_the_knn_index(coq, knn_corpus, tmp_path):  # noqa: F811
    from datasets import load_from_disk

    from provergym.bench.iterate_coq import CoqIterateConfig, iterate_coq
    from provergym.bench.runner import BenchConfig, read_results
    from provergym.search.bestfirst import SearchConfig

    pick_left, add_zero = f"{TINY}:pick_left", f"{TINY}:add_zero"
    config = CoqIterateConfig(out_dir=str(tmp_path / "rounds"), data=str(knn_corpus),
                              method="knn+sauto", rounds=1, pool=0, pool_lemmas=(pick_left,),
                              valid=0, valid_lemmas=(add_zero,), budget=4,
                              hammer_timeout=10, progress=False)
    summaries = iterate_coq(config)
    assert [s["round"] for s in summaries] == [0, 1]
    assert summaries[0]["valid_proved"] == 1  # add_zero: plus_zero's tactic
    assert summaries[1]["proved"] == 1 and summaries[1]["new"] == 1, summaries[1]

    # the found proof's states, in the corpus's schema, with their tactics in order
    data = load_from_disk(str(tmp_path / "rounds" / "round-1" / "data"))["train"]
    line = read_results(tmp_path / "rounds" / "round-1" / "search")[0]
    actions = line["result"]["actions"]
    assert line["result"]["checks"]["coqc"] == "ok"
    assert data["tactic"] == list(actions) and set(data["lemma_id"]) == {pick_left}
    assert data["steps_left"] == list(range(len(actions) - 1, -1, -1))
    assert set(data["round"]) == {1} and data["goals"][0].rstrip().endswith("P \\/ Q")

    # the next round's index holds them: for pick_left's state, the nearest training state
    # is now its own, and its first tactic comes first; before, no neighbour had it
    from agents.search_policies import NearestTactics

    state = coq.open("pick_left")
    before = NearestTactics.from_corpus(str(knn_corpus)).propose(state, 8)
    after = NearestTactics.from_corpus(
        str(knn_corpus), extra_data=(str(tmp_path / "rounds" / "round-1" / "data"),)
    ).propose(state, 8)
    assert actions[0] not in [action for action, _ in before]
    assert after[0][0] == actions[0]
    # ... and the next round's search reads that index (the registry's extra_data)
    round_two = BenchConfig(backend="coq", methods=("knn",), theorems=(pick_left,),
                            out_dir=str(tmp_path / "unused"), data=str(knn_corpus),
                            extra_data=(str(tmp_path / "rounds" / "round-1" / "data"),),
                            search=SearchConfig(expansions=4), progress=False)
    assert round_two.method_config.extra_data == round_two.extra_data

    # a finished run resumes without searching again; other settings are refused
    assert [s["proved"] for s in iterate_coq(config)[1:]] == [1]
    table = (tmp_path / "rounds" / "table.md").read_text()
    assert table.count("\n| ") == 2
    recorded = json.loads((tmp_path / "rounds" / "config.json").read_text())
    assert recorded["method"] == "knn+sauto"
    from dataclasses import replace

    from provergym.bench.methods import BenchError

    with pytest.raises(BenchError, match="other settings"):
        iterate_coq(replace(config, budget=2))
