"""Search on a real Coq file with a fixed tactic list; proofs checked by coqc."""

from __future__ import annotations

from pathlib import Path

import pytest

from provergym.coq.env import CoqFile
from provergym.search.bestfirst import SearchConfig, best_first_search
from provergym.search.check import check_coq_result
from provergym.search.policies import FixedTactics
from provergym.search.result import BUDGET, CHECK_FAILED, EXHAUSTED, PROVED

TINY = Path(__file__).parent / "fixtures" / "tiny.v"
TACTICS = ("intros.", "split.", "left.", "assumption.")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def coq():
    env = CoqFile(TINY, step_timeout=5.0)
    yield env
    env.close()


def test_fixed_tactics_prove_and_coqc_agrees(coq, tmp_path):
    result = best_first_search(coq, "conj_intro", FixedTactics(TACTICS),
                               SearchConfig(expansions=20, candidates=4))
    assert result.status == PROVED, result.message
    assert result.proof.startswith("Proof.") and result.proof.endswith("Qed.")
    assert result.actions[-1] == "assumption."
    checked = check_coq_result(coq, result, tmp_path)
    assert checked.status == PROVED and checked.checks["coqc"] == "ok"
    assert (tmp_path / "Found_conj_intro.v").is_file()


def test_repeated_states_are_not_expanded_again(coq):
    # "intros." on an introduced goal changes nothing: the same goals, a new Coq state.
    result = best_first_search(coq, "pick_left", FixedTactics(TACTICS),
                               SearchConfig(expansions=20, candidates=4))
    assert result.status == PROVED
    texts = [node.text for node in result.tree]
    assert len(texts) == len(set(texts))
    assert any(e.outcome == "duplicate" for node in result.tree for e in node.edges)


def test_unprovable_with_these_tactics(coq):
    result = best_first_search(coq, "add_zero", FixedTactics(TACTICS),
                               SearchConfig(expansions=5, candidates=4))
    assert result.status in (EXHAUSTED, BUDGET) and result.proof is None
    assert result.stats.expansions <= 5


def test_soundness_admit_is_never_a_proof(coq, tmp_path):
    result = best_first_search(coq, "add_zero", FixedTactics(("admit.", "give_up.", "Admitted.")),
                               SearchConfig(expansions=3, candidates=3))
    assert not result.proved
    assert all(e.outcome == "rejected" for node in result.tree for e in node.edges)


def test_a_proof_coqc_rejects_is_a_failure(coq, tmp_path):
    result = best_first_search(coq, "conj_intro", FixedTactics(TACTICS),
                               SearchConfig(expansions=20, candidates=4))
    from dataclasses import replace

    forged = replace(result, proof="Proof. intros. Qed.")  # not a proof of conj_intro
    checked = check_coq_result(coq, forged, tmp_path)
    assert checked.status == CHECK_FAILED and checked.checks["coqc"] != "ok"


def test_bench_runner_with_hammer_baseline_exports_for_coqc(tmp_path):
    """sauto's proofs need CoqHammer's import in the exported file (coqc said so once)."""
    from provergym.bench.export import export_results
    from provergym.bench.runner import BenchConfig, read_results, run_bench

    theorems = tuple(f"{TINY}:{lemma}" for lemma in ("conj_intro", "add_zero"))
    config = BenchConfig(backend="coq", methods=("fixed", "sauto"), theorems=theorems,
                         out_dir=str(tmp_path / "run"), search=SearchConfig(expansions=8),
                         progress=False, hammer_timeout=10)
    summary = run_bench(config)
    lines = read_results(tmp_path / "run")
    assert len(lines) == 4
    assert summary["methods"]["sauto"]["check_failed"] == 0
    for line in lines:
        if line["result"]["status"] == PROVED:
            assert line["result"]["checks"]["coqc"] == "ok"
    assert summary["methods"]["sauto"]["proved"] >= 1
    message = export_results(tmp_path / "run" / "results.jsonl", tmp_path / "export",
                             method="sauto")
    assert "coqc accepted every file" in message


def test_bench_command_in_parallel_finishes_and_leaves_no_prover(tmp_path):
    """Two workers, each with its own Coq sessions: the run ends (it once hung when a
    worker's prover-reader thread took the pool's SIGTERM) and no coqidetop outlives it."""
    import subprocess
    import sys
    import time

    import psutil

    def coqidetops() -> set[int]:
        return {p.pid for p in psutil.process_iter(["name"])
                if (p.info["name"] or "").startswith("coqidetop")}

    before = coqidetops()
    names = tmp_path / "names.txt"
    names.write_text("".join(f"{TINY}:{lemma}\n" for lemma in
                             ("conj_intro", "pick_left", "add_zero")))
    command = [sys.executable, "-m", "provergym.cli", "bench", "--backend", "coq",
               "--theorems", str(names), "--method", "fixed", "--method", "sauto",
               "--budget", "4", "--hammer-timeout", "5", "--jobs", "2", "--no-progress",
               "--out", str(tmp_path / "run")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "fixed" in done.stdout and "sauto" in done.stdout
    deadline = time.monotonic() + 10
    while coqidetops() - before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not coqidetops() - before
