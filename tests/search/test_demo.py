"""The demo end to end, small and without the model (training is tested in tests/agents)."""

from __future__ import annotations

import pytest

from provergym.cli import main

pytestmark = pytest.mark.slow


def test_demo_without_model_runs_every_stage(tmp_path, capsys):
    code = main(["demo", "--home", str(tmp_path), "--theorems", "300", "--sample", "4",
                 "--budget", "8", "--jobs", "1", "--no-model", "--coq", "0"])
    out = capsys.readouterr().out
    assert code == 0, out
    for stage in range(2, 8):
        assert f"[{stage}/7]" in out
    assert "frequency" in out and "improve" in out
    assert "metamath-exe 'verify proof *' passed with no error" in out or "no proved" in out
    reports = list((tmp_path / "demo").glob("*/report.html"))
    assert len(reports) == 1 and "<table" in reports[0].read_text()
    # A second run reuses everything: no new attempts.
    results = next((tmp_path / "demo").glob("*/results.jsonl"))
    before = results.read_text()
    assert main(["demo", "--home", str(tmp_path), "--theorems", "300", "--sample", "4",
                 "--budget", "8", "--jobs", "1", "--no-model", "--coq", "0"]) == 0
    assert "reusing the corpus" in capsys.readouterr().out
    assert results.read_text() == before
