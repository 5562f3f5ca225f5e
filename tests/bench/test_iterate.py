"""Expert iteration end to end on a small real database (hol.mm): one tiny round, and the
found proofs become training records that the next round's model reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

HOL = "/usr/share/metamath/databases/hol.mm"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def round_zero(tmp_path_factory):
    """A hol.mm corpus and a tiny model trained a few steps on it (round 0)."""
    from agents.train import resolve_config, train
    from corpora.metamath import build_corpus

    home = tmp_path_factory.mktemp("iterate")
    corpus = build_corpus(HOL, home / "corpus", name="metamath-hol", jobs=1, progress=False)
    run = home / "round0"
    train(resolve_config("metamath", "tiny", {
        "data_dir": str(corpus), "out_dir": str(run), "steps": 30, "eval_every": 30,
        "save_every": 30, "progress": False, "cpu_threads": 1, "hints": 4}))
    return home, corpus, run


def test_one_round_turns_found_proofs_into_training_data(round_zero):
    from datasets import load_from_disk

    from provergym.bench.iterate import NOT_PROVED, IterateConfig, iterate, pool_statements

    home, corpus, run = round_zero
    out = home / "rounds"
    config = IterateConfig(out_dir=str(out), model=str(run), db=HOL, rounds=1, pool=12,
                           valid=4, budget=8, time_limit=20, train_steps=6, jobs=1,
                           progress=False)
    summaries = iterate(config)
    assert [s["round"] for s in summaries] == [0, 1]
    first = summaries[1]
    assert first["searched"] == 12 and first["proved"] >= 1, first
    # the pool is train-split statements only: none of the valid or test split
    from corpora.metamath import splitter_for

    splitter = splitter_for("metamath-hol")
    assert all(splitter(name) == "train" for name in pool_statements(config))

    data = load_from_disk(str(out / "round-1" / "data"))["train"]
    assert set(data["round"]) == {1}
    steps = [r for r in data if r["steps_left"] != NOT_PROVED]
    negatives = [r for r in data if r["steps_left"] == NOT_PROVED]
    assert steps and negatives
    # proof steps have the corpus's schema and come from checked proofs of the pool
    human = load_from_disk(str(corpus))["train"]
    assert set(human.features) <= set(data.features)
    lines = [json.loads(x) for x in (out / "round-1" / "search" / "results.jsonl")
             .read_text().splitlines()]
    proved = {x["theorem"] for x in lines if x["result"]["status"] == "proved"}
    assert all(x["result"]["checks"].get("metamath-exe") == "ok" for x in lines
               if x["result"]["status"] == "proved")
    assert {r["theorem"] for r in steps} == proved
    assert all(r["step"] and r["label"] for r in steps)
    assert all(not r["step"] and r["goal"].startswith("|-") for r in negatives)

    # the next round's model read them: its training config names the round's data
    trained = json.loads((out / "round-1" / "model" / "train_config.json").read_text())
    assert str(out / "round-1" / "data") in trained["extra_data"]
    assert trained["init_from"] == str(run)
    # ... and trained on them: every found step gives a PROOFSTEP and a VALUE sequence,
    # every negative a VALUE sequence, on top of round 0's
    from agents.train import read_log

    before = read_log(run, "start")[0]["train_sequences"]
    after = read_log(out / "round-1" / "model", "start")[0]["train_sequences"]
    assert after == before + 2 * len(steps) + len(negatives)
    assert (out / "table.md").read_text().count("\n| ") >= 2

    # resuming a finished run does nothing again
    before = (out / "round-1" / "search" / "results.jsonl").read_text()
    again = iterate(config)
    assert [s["round"] for s in again] == [0, 1] and again[1]["proved"] == first["proved"]
    assert (out / "round-1" / "search" / "results.jsonl").read_text() == before


def test_other_settings_are_not_mixed_into_a_rounds_folder(round_zero, tmp_path):
    from provergym.bench.iterate import IterateConfig, iterate
    from provergym.bench.methods import BenchError

    home, _, run = round_zero
    out = tmp_path / "rounds"
    (out).mkdir()
    (out / "config.json").write_text(json.dumps({"out_dir": str(out), "model": str(run),
                                                 "db": HOL, "budget": 99}))
    with pytest.raises(BenchError, match="other settings"):
        iterate(IterateConfig(out_dir=str(out), model=str(run), db=HOL, pool=2, valid=2,
                              budget=4, train_steps=2, progress=False))
    with pytest.raises(BenchError, match="not a trained run folder"):
        iterate(IterateConfig(out_dir=str(tmp_path / "other"), model=str(Path(run).parent),
                              db=HOL, pool=2, valid=2, budget=4, train_steps=2,
                              progress=False))


def test_the_pool_holds_every_problem_and_no_statement_resting_on_one(tmp_path):
    from provergym.bench.iterate import IterateConfig, pool_statements, valid_statements
    from provergym.bench.methods import BenchError
    from tests.metamath.test_unproved import DATABASE

    path = tmp_path / "problems.mm"
    path.write_text(DATABASE)
    config = IterateConfig(out_dir=str(tmp_path / "out"), model="unused", db=str(path),
                           pool=10, valid=10)
    pool = pool_statements(config)
    assert {"bogus", "cheat"} <= set(pool) and "leans" not in pool
    try:
        valid = valid_statements(config)
    except BenchError:  # so small a database may have no valid statement at all
        valid = []
    assert not {"bogus", "cheat", "leans"} & set(valid)


def test_a_rounds_folder_from_before_a_new_setting_still_resumes(tmp_path):
    """A folder recorded before pool_budget existed ran with its default (0): resuming it
    with the default is the same settings; with another value, it is refused."""
    import json
    from dataclasses import asdict, replace

    from provergym.bench.iterate import IterateConfig, check_same_config, search_config
    from provergym.bench.methods import BenchError

    config = IterateConfig(out_dir=str(tmp_path), model="m")
    old = json.loads(json.dumps(asdict(config), default=str))
    del old["pool_budget"]
    (tmp_path / "config.json").write_text(json.dumps(old))
    check_same_config(tmp_path, config)  # no error
    with pytest.raises(BenchError, match="pool_budget"):
        check_same_config(tmp_path, replace(config, pool_budget=64))
    assert search_config(replace(config, pool_budget=64), expansions=64).expansions == 64
    assert search_config(config).expansions == config.budget
