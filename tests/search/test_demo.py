"""The demo end to end, small and without the model (training is tested in tests/agents)."""

from __future__ import annotations

import pytest

from provergym.cli import main

pytestmark = pytest.mark.slow


def test_demo_without_model_runs_every_stage(tmp_path, capsys):
    code = main(["demo", "--home", str(tmp_path), "--first", "300", "--sample", "4",
                 "--budget", "8", "--jobs", "1", "--no-model", "--coq", "0"])
    out = capsys.readouterr().out
    assert code == 0, out
    for stage in range(2, 8):
        assert f"[{stage}/7]" in out
    assert "frequency" in out and "improve" in out
    assert "proofs go into the patch" in out or "no proved" in out  # the maintainer's patch
    reports = list((tmp_path / "demo").glob("*/report.html"))
    assert len(reports) == 1 and "<table" in reports[0].read_text()
    # A second run reuses everything: no new attempts.
    results = next((tmp_path / "demo").glob("*/results.jsonl"))
    before = results.read_text()
    assert main(["demo", "--home", str(tmp_path), "--first", "300", "--sample", "4",
                 "--budget", "8", "--jobs", "1", "--no-model", "--coq", "0"]) == 0
    assert "reusing the corpus" in capsys.readouterr().out
    assert results.read_text() == before


def test_demo_coq_part_builds_its_knn_corpus_without_the_sample(tmp_path, capsys):
    import argparse
    import json

    from datasets import load_from_disk

    from provergym.demo import _coq_part

    args = argparse.Namespace(coq=2, jobs=1)
    out_dir = _coq_part(args, tmp_path)
    out = capsys.readouterr().out
    assert out_dir is not None and "replaying the sample's" in out
    rows = [json.loads(line) for line in (out_dir / "results.jsonl").read_text().splitlines()]
    sample = sorted({row["theorem"] for row in rows})
    assert len(sample) == 2
    assert sorted({row["method"] for row in rows}) == ["fixed", "knn", "knn+sauto", "sauto"]
    assert len(rows) == 8
    # The k-NN corpus is the sample's files, and none of the sampled lemmas is in its
    # training split (the split is the committed manifest's).
    corpus = next((tmp_path / "corpora").glob("coq-demo-*"))
    data = load_from_disk(str(corpus))
    assert set(data["train"]["file"]) <= {name.split(":")[0] for name in sample}
    assert len(data["train"]) > 0
    assert not set(sample) & set(data["train"]["lemma_id"])
    # Run again: the corpus and the results are reused.
    before = (out_dir / "results.jsonl").read_text()
    assert _coq_part(args, tmp_path) == out_dir
    assert "reusing the k-NN corpus" in capsys.readouterr().out
    assert (out_dir / "results.jsonl").read_text() == before
