"""`provergym bench --incomplete FILE.mm`: a user's own problems (the $p whose proof is ?),
and `bench --split` on a database other than set.mm (its own seeded manifest)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from provergym import cli
from provergym.bench.runner import read_results

HOL = Path("/usr/share/metamath/databases/hol.mm")
PROBLEMS = ("idt", "ct2", "axgen")  # their proofs become `?` (no other proof cites them)


def _with_open_proofs(tmp_path: Path) -> Path:
    text = HOL.read_text(encoding="ascii")
    for label in PROBLEMS:
        text, count = re.subn(rf"(\s{re.escape(label)} \$p [^$]*\$=)[^$]*\$\.", r"\1 ? $.", text)
        assert count == 1, label
    path = tmp_path / "hol-problems.mm"
    path.write_text(text, encoding="ascii")
    return path


@pytest.mark.slow
def test_bench_incomplete_runs_the_open_problems_and_checks_every_proof(tmp_path, monkeypatch,
                                                                       capsys):
    monkeypatch.setenv("PROVERGYM_HOME", str(tmp_path / "home"))
    problems = _with_open_proofs(tmp_path)
    out = tmp_path / "run"
    code = cli.main(["bench", "--incomplete", str(problems), "--method", "frequency",
                     "--method", "uniform", "--budget", "16", "--out", str(out),
                     "--no-progress", "--jobs", "1"])
    assert code == 0, capsys.readouterr().err
    lines = read_results(out)
    assert {line["theorem"] for line in lines} == set(PROBLEMS)
    proved = [line for line in lines if line["result"]["status"] == "proved"]
    assert proved  # the frequency baseline proves some of them
    for line in proved:
        checks = line["result"]["checks"]
        assert checks["kernel"] == "ok" and checks["metamath-exe"] == "ok", checks
        # never a citation of another open problem
        assert not set(line["result"]["proof"].split()) & set(PROBLEMS), line
    config = json.loads((out / "config.json").read_text())
    assert config["db"] == str(problems) and config["train_theorems"] > 100
    # a database with no open problem is a clear error
    assert cli.main(["bench", "--incomplete", str(HOL), "--out", str(tmp_path / "x")]) == 2
    assert "no $p whose proof is ?" in capsys.readouterr().err


@pytest.mark.slow
def test_bench_split_on_another_database_uses_its_own_manifest(tmp_path, monkeypatch,
                                                              capsys):
    monkeypatch.setenv("PROVERGYM_HOME", str(tmp_path / "home"))
    out = tmp_path / "hol-test"
    code = cli.main(["bench", "--db", str(HOL), "--split", "test", "--limit", "4",
                     "--seed", "1", "--method", "frequency", "--budget", "8",
                     "--out", str(out), "--no-progress", "--jobs", "1"])
    assert code == 0, capsys.readouterr().err
    manifests = list((tmp_path / "home" / "manifests").glob("hol.mm-*"))
    assert len(manifests) == 1
    test = (manifests[0] / "test.txt").read_text().split()
    train = set((manifests[0] / "train.txt").read_text().split())
    ran = {line["theorem"] for line in read_results(out)}
    assert len(ran) == 4 and ran <= set(test) and not ran & train
    config = json.loads((out / "config.json").read_text())
    assert config["train_theorems"] == len(train)  # the baseline counts hol.mm's own proofs
    # another seed draws another sample of the same split
    other = tmp_path / "hol-test-2"
    assert cli.main(["bench", "--db", str(HOL), "--split", "test", "--limit", "4",
                     "--seed", "2", "--method", "frequency", "--budget", "8",
                     "--out", str(other), "--no-progress", "--jobs", "1"]) == 0
    assert {line["theorem"] for line in read_results(other)} != ran
