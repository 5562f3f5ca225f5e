"""Replay: tactic records of a fixture and a stdlib file, and the CLI's behaviour."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from provergym.coq.replay import replay_file

STDLIB = Path("/usr/lib/ocaml/coq/theories")


@pytest.mark.slow
def test_replay_fixture_records(coq, small_v, no_leftover_coq) -> None:
    result = replay_file(small_v, progress=False, printing_all=True)
    assert result.error is None and result.lemmas == 5
    by_lemma: dict[str, list] = {}
    for record in result.records:
        by_lemma.setdefault(record.lemma, []).append(record)
    assert [r.tactic for r in by_lemma["and_swap"]] == [
        "intros [p q].", "split.", "-", "exact q.", "-", "exact p."]
    swap = by_lemma["and_swap"]
    assert [r.steps_left for r in swap] == [5, 4, 3, 2, 1, 0]
    # The goals after a tactic are the goals before the next one.
    for earlier, later in zip(swap, swap[1:]):
        assert earlier.goals_after == later.goals_before
    assert swap[0].goals_before[0].conclusion == "P /\\ Q -> Q /\\ P"
    assert swap[-1].goals_after == ()
    assert result.ast_failed == 0 and result.ast_parsed > 0


@pytest.mark.slow
def test_replay_stdlib_sample(coq, no_leftover_coq) -> None:
    result = replay_file(STDLIB / "Bool" / "Bool.v", progress=False)
    assert result.error is None, result.error
    assert result.lemmas > 100 and len(result.records) > 100


@pytest.mark.slow
def test_cli_replay_and_errors(coq, small_v, tmp_path) -> None:
    out = tmp_path / "records.jsonl"
    done = subprocess.run([sys.executable, "-m", "provergym.cli", "coq", "replay", "--no-progress",
                           str(small_v), "--json", str(out)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "5 lemmas" in done.stdout
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(replay_file(small_v, progress=False).records)
    assert json.loads(lines[0])["lemma"] == "double_zero"
    # A file Coq refuses: a clear message with file and line, no traceback.
    broken = tmp_path / "Broken.v"
    broken.write_text("Lemma x : True.\nProof.\n  exact 3.\nQed.\n", encoding="utf-8")
    failed = subprocess.run([sys.executable, "-m", "provergym.cli", "coq", "replay", "--no-progress",
                             str(broken)], capture_output=True, text=True, timeout=300)
    assert failed.returncode == 1
    assert f"{broken}:3:3:" in failed.stdout and "Traceback" not in failed.stderr
    assert failed.stderr.startswith("provergym: error: 1 of 1 files did not replay"), \
        failed.stderr
    missing = subprocess.run([sys.executable, "-m", "provergym.cli", "coq", "replay",
                              str(tmp_path / "nope.v")], capture_output=True, text=True)
    assert missing.returncode == 2 and "no such file" in missing.stderr
    assert "Traceback" not in missing.stderr
    unterminated = tmp_path / "Open.v"
    unterminated.write_text("Lemma x : True.\n(* never closed\n", encoding="utf-8")
    bad = subprocess.run([sys.executable, "-m", "provergym.cli", "coq", "replay", "--no-progress",
                          str(unterminated)], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith(f"provergym: error: {unterminated}: line 2"), bad.stderr


@pytest.mark.slow
@pytest.mark.parametrize("source,message", [
    ("Lemma x : True.\nProof.\n  exact I.\n", "ends inside the proof of x"),
    ("Section S.\nLemma x : True.\nProof. exact I. Qed.\n", "ends inside Section S"),
    ("Module M.\nLemma x : True.\nProof. exact I. Qed.\n", "ends inside Module M"),
])
def test_a_file_coqc_refuses_at_its_end_does_not_replay(coq, tmp_path, no_leftover_coq,
                                                        source: str, message: str) -> None:
    """Reliability item 11: coqc refuses a file that ends inside a proof ("There are pending
    proofs"), a section or a module; so does replay, and the CLI exits 1."""
    path = tmp_path / "Open.v"
    path.write_text(source, encoding="utf-8")
    assert subprocess.run(["coqc", path.name], cwd=tmp_path, capture_output=True).returncode
    result = replay_file(path, progress=False)
    assert result.error is not None and message in result.error
    run = subprocess.run([sys.executable, "-m", "provergym.cli", "coq", "replay", "--no-progress",
                          str(path)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and message in run.stdout and "Traceback" not in run.stderr
    closed = tmp_path / "Closed.v"
    closed.write_text(source + ("Qed.\n" if "Section" not in source and "Module" not in source
                                else f"End {'S' if 'Section' in source else 'M'}.\n"),
                      encoding="utf-8")
    assert replay_file(closed, progress=False).error is None
