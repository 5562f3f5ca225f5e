"""corpora.common: splits, manifests, the sharded builder (resume, failures), loading."""

from __future__ import annotations

import json

import pytest

from corpora import common
from corpora.common import (
    SPLITS,
    CorpusError,
    ShardOutput,
    Splitter,
    assemble,
    build_shards,
    compute_split,
    corpus_dir,
    load_corpus,
    read_manifest,
    split_of,
    write_manifest,
)

NAMES = [f"thm{i}" for i in range(5000)]


def test_split_is_deterministic_and_order_free():
    a = compute_split(NAMES, seed=7)
    b = compute_split(list(reversed(NAMES)), seed=7)
    assert {s: set(v) for s, v in a.items()} == {s: set(v) for s, v in b.items()}
    # a name's split does not depend on the other names
    assert all(split_of(n, 7) == s for s, names in a.items() for n in names[:50])
    assert compute_split(NAMES, seed=8) != a


def test_split_fractions_and_disjoint():
    split = compute_split(NAMES, seed=0)
    sets = {s: set(v) for s, v in split.items()}
    assert sum(map(len, sets.values())) == len(NAMES)
    assert not (sets["train"] & sets["test"] or sets["train"] & sets["valid"]
                or sets["valid"] & sets["test"])
    for s in ("valid", "test"):
        assert 0.08 * len(NAMES) < len(sets[s]) < 0.12 * len(NAMES)
    custom = compute_split(NAMES, seed=0, valid=0.1, test=0.1)
    assert custom == split
    eighty = compute_split(NAMES, seed=0, valid=0.3, test=0.3)
    assert 0.35 * len(NAMES) < len(eighty["train"]) < 0.45 * len(NAMES)


def test_manifest_round_trip_wins_over_rule(tmp_path):
    split = compute_split(NAMES[:100], seed=1)
    # Move one name by hand: the manifest, not the rule, must decide.
    moved = split["train"].pop()
    split["test"].append(moved)
    write_manifest(tmp_path / "toy", split)
    splitter = Splitter.for_corpus("toy", seed=1, root=tmp_path)
    assert splitter(moved) == "test"
    assert all(splitter(n) == s for s, names in split.items() for n in names)
    # A name in no manifest follows the seeded rule (the documented default).
    assert splitter("not-listed") == split_of("not-listed", 1)
    assert splitter.unlisted(["not-listed", moved]) == ["not-listed"]
    assert Splitter.for_corpus("absent", seed=1, root=tmp_path).manifest is None


def test_manifest_with_a_name_in_two_splits_is_an_error(tmp_path):
    write_manifest(tmp_path, {"train": ["a", "b"], "valid": ["c"], "test": ["b"]})
    with pytest.raises(CorpusError, match=r"test\.txt:1: 'b' is already in the train"):
        read_manifest(tmp_path)


def test_corpus_dir_follows_provergym_home(tmp_path, monkeypatch):
    monkeypatch.setenv("PROVERGYM_HOME", str(tmp_path))
    assert corpus_dir("metamath") == tmp_path / "corpora" / "metamath"
    monkeypatch.delenv("PROVERGYM_HOME")
    assert corpus_dir("coq").parts[-4:] == (".cache", "provergym", "corpora", "coq")
    monkeypatch.setenv("PROVERGYM_HOME", "")  # empty is unset, as everywhere else
    assert corpus_dir("coq").parts[-4:] == (".cache", "provergym", "corpora", "coq")
    with pytest.raises(CorpusError):
        corpus_dir("../x")


def test_load_missing_corpus_names_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv("PROVERGYM_HOME", str(tmp_path))
    with pytest.raises(CorpusError, match="provergym corpus build metamath"):
        load_corpus("metamath")
    with pytest.raises(CorpusError, match="provergym corpus build coq"):
        load_corpus(str(tmp_path / "coq"))


def test_cli_stats_of_a_missing_corpus_is_a_clear_error(tmp_path, monkeypatch, capsys):
    from provergym.cli import main

    monkeypatch.setenv("PROVERGYM_HOME", str(tmp_path))
    assert main(["corpus", "stats", "metamath"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("provergym: error: no built corpus at ")
    assert "provergym corpus build metamath" in err


# -- the sharded builder, on toy work -------------------------------------------------------

def _features():
    from datasets import Features, Value
    return Features({"name": Value("string"), "n": Value("int64")})


def _toy_work(payload):
    start, stop = payload
    if start == 13:  # one item of this shard fails: it is reported, not skipped silently
        records = [{"name": f"k{i}", "n": i} for i in range(start + 1, stop)]
        return ShardOutput(records, (("k13", "toy failure"),), {"items": stop - start})
    if start == 26:
        raise RuntimeError("the whole shard broke")
    return ShardOutput([{"name": f"k{i}", "n": i} for i in range(start, stop)], (),
                       {"items": stop - start})


SHARDS = [(f"chunk{i:03d}", (i, i + 13)) for i in range(0, 130, 13)]


def _build(directory, **kwargs):
    statuses = build_shards(directory, SHARDS, _toy_work, _features(), progress=False, **kwargs)
    return statuses


def _rows(corpus):
    return {s: list(zip(corpus[s]["name"], corpus[s]["n"])) for s in SPLITS}


def test_build_resume_gives_the_same_dataset(tmp_path):
    splitter = Splitter(seed=3, valid=0.2, test=0.2)
    fresh = tmp_path / "fresh"
    statuses = _build(fresh, jobs=2)
    report = assemble(fresh, statuses, _features(), splitter, key="name")
    assert report.failures == (("k13", "toy failure"),
                               ("chunk026", "RuntimeError: the whole shard broke"))
    assert report.counts == {"items": 9 * 13}
    assert sum(report.splits.values()) == 130 - 1 - 13
    reference = _rows(load_corpus(fresh))
    for split, rows in reference.items():
        assert all(splitter(name) == split for name, _ in rows)
    info = json.loads((fresh / "build_info.json").read_text())
    assert info["splits"] == report.splits

    # Interrupted after 2 shards, then resumed: the same dataset, and only the rest is built.
    resumed = tmp_path / "resumed"
    first = _build(resumed, jobs=1, stop_after=2)
    assert len(first) == 2
    second = _build(resumed, jobs=2)
    assert sum(s.skipped for s in second) == 2
    report2 = assemble(resumed, second, _features(), splitter, key="name")
    assert report2.shards_built == len(SHARDS) - 2
    assert _rows(load_corpus(resumed)) == reference

    # A third run reuses everything except the shard that failed as a whole (retried).
    third = _build(resumed, jobs=1)
    assert [s.shard_id for s in third if not s.skipped] == ["chunk026"]
    assemble(resumed, third, _features(), splitter, key="name")
    assert _rows(load_corpus(resumed)) == reference


def test_build_rejects_duplicate_shard_ids(tmp_path):
    with pytest.raises(CorpusError, match="unique"):
        build_shards(tmp_path, [("a", (0, 1)), ("a", (1, 2))], _toy_work, _features(),
                     progress=False)


def test_shard_ids_from_paths_are_flat(tmp_path):
    records, meta = common.shard_paths(tmp_path, "theories/Arith/PeanoNat.v")
    assert records.parent == common.shard_root(tmp_path) and meta.parent == records.parent
    assert tmp_path not in records.parents  # kept outside the corpus folder
    assert records.name.endswith(".arrow") and "/" not in records.name
