"""corpora.coq: the Coq proof-state corpus, built from real replays and re-run in Coq."""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import pytest

from corpora import coq as cc
from corpora.common import SPLITS, load_corpus, read_build_info
from corpora.tactic_classes import ALL_CLASSES


def _build(out: Path, *extra: str) -> Path:
    parser = argparse.ArgumentParser()
    cc.add_arguments(parser)
    return cc.build(parser.parse_args(["--out", str(out), *extra]))


def test_position_buckets_are_gamepads():
    assert [cc.position_bucket(n) for n in (0, 4, 5, 19, 20, 300)] == [0, 0, 1, 1, 2, 2]


def test_library_files_and_names():
    files = cc.library_files(["stdlib", "mathcomp"])
    names = {cc.display_name(f) for f in files}
    assert "stdlib/Arith/PeanoNat.v" in names and "mathcomp/ssreflect/seq.v" in names
    assert not any(n.startswith("stdlib/Reals/") for n in names)  # only in stdlib-all
    assert all(cc.source_path(cc.display_name(f)) == f for f in files)
    seq = cc.source_path("mathcomp/ssreflect/seq.v")
    assert cc.load_paths(seq) == ["-R", str(cc.MATHCOMP / "ssreflect"), "mathcomp.ssreflect"]
    assert cc.load_paths(cc.source_path("stdlib/Arith/PeanoNat.v")) == []
    with pytest.raises(ValueError, match="unknown library"):
        cc.library_files(["nonsense"])


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("coq") / "coq-small"
    return _build(out, "--small")


@pytest.mark.slow
def test_small_build_records(small_corpus):
    corpus = load_corpus(small_corpus)
    rows = [row for split in SPLITS for row in corpus[split]]
    info = read_build_info(small_corpus)
    assert info["counts"]["files"] == 3 and not info["failures"]
    assert len(rows) == info["counts"]["states"] > 20
    lemmas = {split: set(corpus[split]["lemma_id"]) for split in SPLITS}
    assert not (lemmas["train"] & lemmas["test"] or lemmas["train"] & lemmas["valid"]
                or lemmas["valid"] & lemmas["test"])
    assert {r["file"] for r in rows} == {cc.display_name(f) for f in cc.SMALL_FILES}
    # the two GamePad targets are ClassLabels: ints named by the features
    from datasets import ClassLabel

    classes = corpus["train"].features["tactic_class"]
    assert isinstance(classes, ClassLabel) and tuple(classes.names) == ALL_CLASSES
    assert isinstance(corpus["train"].features["position_bucket"], ClassLabel)
    for row in rows:
        assert classes.int2str(row["tactic_class"]) in ALL_CLASSES
        assert row["position_bucket"] == cc.position_bucket(row["steps_left"])
        assert row["tactic"] not in ("-", "+", "*", "{", "}")
        assert row["goals"] and row["goals_sexp"].startswith("(Goals (Goal ")
    # steps_left counts down to 0 within each proof
    by_lemma: dict[str, list[dict]] = {}
    for row in sorted(rows, key=lambda r: (r["file"], r["sentence"])):
        by_lemma.setdefault(row["lemma_id"], []).append(row)
    for proof in by_lemma.values():
        assert [r["steps_left"] for r in proof] == list(range(len(proof) - 1, -1, -1))


@pytest.mark.slow
def test_sample_reruns_in_coq(small_corpus, no_leftover_coq):
    """Open the lemma, replay its original proof up to the record, run the record's tactic:
    Coq shows the recorded goals before and after."""
    from provergym.api import Progress, Proved
    from provergym.coq.env import CoqFile

    corpus = load_corpus(small_corpus)
    rows = [row for split in SPLITS for row in corpus[split]]
    sample = random.Random(0).sample(rows, min(len(rows), 40))
    checked = 0
    for file in sorted({r["file"] for r in sample}):
        path = cc.source_path(file)
        with CoqFile(path, coq_args=cc.load_paths(path)) as env:
            for row in sorted((r for r in sample if r["file"] == file),
                              key=lambda r: r["sentence"]):
                lemma = env.lemmas[row["lemma"]]
                start = lemma.index + 1 + (lemma.proof_header is not None)
                state = env.open(row["lemma"])
                for sentence in env.sentences[start:row["sentence"]]:
                    result = env.step(state, sentence.text)
                    assert isinstance(result, Progress), (sentence.text, result)
                    state = result.state
                assert cc.goals_text(state.goals) == row["goals"]
                result = env.step(state, row["tactic"])
                if row["goals_after"]:
                    assert isinstance(result, Progress), result
                    assert cc.goals_text(result.state.goals) == row["goals_after"]
                else:
                    assert isinstance(result, Proved), result
                checked += 1
    assert checked == len(sample)


@pytest.mark.slow
def test_failing_file_is_logged_and_unfinished_proofs_dropped(tmp_path, no_leftover_coq):
    source = tmp_path / "Broken.v"
    source.write_text(
        "Lemma ok1 : True /\\ True.\nProof.\nsplit.\n- exact I.\n- exact I.\nQed.\n\n"
        "Lemma skipped : False -> True.\nProof.\nintros H.\nAdmitted.\n\n"
        "Lemma cut_short : True.\nProof.\npose (x := 1).\nexact Undefined_thing.\nQed.\n")
    out = _build(tmp_path / "out", "--files", str(source), "--jobs", "1")
    info = read_build_info(out)
    assert [name for name, _ in info["failures"]] == [str(source.resolve())]
    rows = [row for split in SPLITS for row in load_corpus(out)[split]]  # some splits empty
    assert [r["tactic"] for r in rows] == ["split.", "exact I.", "exact I."]
    output = cc._work(str(source))  # what one shard of the build keeps
    assert len(output.failures) == 1
    name, reason = output.failures[0]
    assert name.endswith("Broken.v") and ":16:" in reason and "Undefined_thing" in reason
    counts = output.counts
    assert counts["files_failed"] == 1 and counts["lemmas"] == 1
    assert counts["states"] == 3 and counts["states_dropped_unfinished"] == 2
    assert counts["bullets_and_braces"] == 2
    assert [(r["tactic"], r["steps_left"], r["tactic_class"]) for r in output.records] == [
        ("split.", 2, "split"), ("exact I.", 1, "exact"), ("exact I.", 0, "exact")]
