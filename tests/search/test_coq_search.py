"""Search on a real Coq file with a fixed tactic list; proofs checked by coqc."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from agents.search_policies import NearestTactics
from provergym.bench.check import check_coq_result
from provergym.coq.env import CoqFile
from provergym.coq.policies import FixedTactics
from provergym.search.bestfirst import SearchConfig, best_first_search
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


# A training file for the k-NN policy: add_zero's statement under another name, and a
# conjunction lemma whose tactics do not prove pick_left's disjunction.
KNN_TRAIN = """Lemma plus_zero (n : nat) : n + 0 = n.
Proof.
  induction n; simpl; congruence.
Qed.

Lemma and_swap (P Q : Prop) : P /\\ Q -> Q /\\ P.
Proof.
  intros [p q]. split; assumption.
Qed.
"""


@pytest.fixture(scope="module")
def knn_corpus(tmp_path_factory):
    """A Coq corpus (the builder's own records, from a real replay) whose train split is
    KNN_TRAIN's states."""
    from datasets import Dataset, DatasetDict

    from corpora import coq as cc

    folder = tmp_path_factory.mktemp("knn")
    source = folder / "train_knn.v"
    source.write_text(KNN_TRAIN)
    records, error, _ = cc.file_records(source)
    assert error is None and {r["lemma"] for r in records} == {"plus_zero", "and_swap"}
    train = Dataset.from_list(records, features=cc.features())
    corpus = DatasetDict(train=train, valid=train, test=train)  # only train is read
    corpus.save_to_disk(str(folder / "corpus"))
    return folder / "corpus"


def test_nearest_tactics_prove_what_fixed_tactics_cannot(coq, knn_corpus, tmp_path):
    policy = NearestTactics.from_corpus(str(knn_corpus))
    # the state the search sees prints as the corpus stored it: plus_zero's state is nearest
    proposals = policy.propose(coq.open("add_zero"), 4)
    assert proposals[0][0] == "induction n; simpl; congruence."
    result = best_first_search(coq, "add_zero", policy, SearchConfig(expansions=4, candidates=4))
    assert result.status == PROVED, result.message
    assert result.actions == ("induction n; simpl; congruence.",)
    checked = check_coq_result(coq, result, tmp_path)
    assert checked.status == PROVED and checked.checks["coqc"] == "ok"


def test_retrieval_never_sees_the_attempted_lemma_nor_later_ones(knn_corpus, tmp_path,
                                                                  no_leftover_coq):
    """Searching a lemma of the training split: its own states (and those of the lemmas
    after it in its file) are left out, in NearestTactics and in the bench."""
    from corpora.coq import display_name
    from provergym.bench.runner import BenchConfig, read_results, run_bench
    from provergym.coq.env import CoqFile

    source = knn_corpus.parent / "train_knn.v"
    policy = NearestTactics.from_corpus(str(knn_corpus))
    with CoqFile(source) as env:
        state = env.open("plus_zero")
        assert policy.propose(state, 4)[0][0] == "induction n; simpl; congruence."  # a leak
        policy.set_attempt(display_name(source), env.lemmas["plus_zero"].line)
        assert policy.propose(state, 4) == []  # both lemmas of the file are left out
        policy.set_attempt(display_name(source), env.lemmas["and_swap"].line)
        tactics = [t for t, _ in policy.propose(env.open("and_swap"), 8)]
        assert "intros [p q]. split; assumption." not in tactics
        assert tactics == ["induction n; simpl; congruence."]  # plus_zero comes before it
    config = BenchConfig(backend="coq", methods=("knn",), theorems=(f"{source}:plus_zero",),
                         out_dir=str(tmp_path / "run"), search=SearchConfig(expansions=4),
                         data=str(knn_corpus), progress=False)
    run_bench(config)
    [line] = read_results(tmp_path / "run")
    assert line["result"]["status"] != PROVED  # its own proof is not retrieved


def test_nearest_tactics_without_a_corpus_say_how_to_build_it(tmp_path):
    with pytest.raises(ValueError, match="provergym corpus build coq"):
        NearestTactics.from_corpus(str(tmp_path / "no-corpus"))


def test_bench_knn_methods_with_sauto_fallback(knn_corpus, tmp_path):
    from provergym.bench.runner import BenchConfig, read_results, run_bench

    theorems = tuple(f"{TINY}:{lemma}" for lemma in ("add_zero", "pick_left"))
    config = BenchConfig(backend="coq", methods=("knn", "knn+sauto"), theorems=theorems,
                         out_dir=str(tmp_path / "run"), search=SearchConfig(expansions=4),
                         data=str(knn_corpus), progress=False, hammer_timeout=10)
    summary = run_bench(config)
    status = {(line["method"], line["theorem"].rpartition(":")[2]): line["result"]
              for line in read_results(tmp_path / "run")}
    assert status["knn", "add_zero"]["status"] == PROVED
    # pick_left (a disjunction): no training tactic proves it; only the fallback does
    assert status["knn", "pick_left"]["status"] != PROVED
    assert status["knn+sauto", "pick_left"]["status"] == PROVED
    assert "sauto." in status["knn+sauto", "pick_left"]["actions"]
    for result in status.values():
        if result["status"] == PROVED:
            assert result["checks"]["coqc"] == "ok"
    assert summary["methods"]["knn+sauto"]["proved"] == 2


def test_prove_command_with_knn_and_sauto(knn_corpus, tmp_path):
    """`provergym prove` imports CoqHammer for the sauto fallback, as the bench does."""
    import subprocess
    import sys

    command = [sys.executable, "-m", "provergym.cli", "prove", "pick_left", "--backend", "coq",
               "--file", str(TINY), "--method", "knn+sauto", "--data", str(knn_corpus),
               "--budget", "4", "--out", str(tmp_path / "out")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    exported = (tmp_path / "out" / "Found_pick_left.v").read_text()
    assert "sauto." in exported and "Hammer" in exported


def test_coq_model_mixes_in_the_tactics_of_its_corpus(knn_corpus, tmp_path):
    """A Coq model (trained a few steps on the k-NN corpus, which its run records) proposes
    with the nearest training states' tactics mixed in by default, and proves add_zero."""
    from agents.train import resolve_config, train
    from provergym.bench.methods import BenchError, build_policy
    from provergym.bench.runner import BenchConfig, read_results, run_bench

    run = tmp_path / "coq-tiny"
    train(resolve_config("coq", "tiny", {
        "data_dir": str(knn_corpus), "out_dir": str(run), "steps": 4, "eval_every": 4,
        "save_every": 4, "progress": False, "cpu_threads": 1}))
    config = BenchConfig(backend="coq", methods=("model",), theorems=(f"{TINY}:add_zero",),
                         out_dir=str(tmp_path / "bench"), model=str(run),
                         search=SearchConfig(expansions=4), progress=False)
    policy = build_policy("coq", "model", config.method_config)
    assert policy.retrieval is not None and policy.retrieval_weight == 0.5
    with CoqFile(TINY, step_timeout=5.0) as coq:
        proposals = dict(policy.propose(coq.open("add_zero"), 8))
    assert "induction n; simpl; congruence." in proposals
    run_bench(config)
    (line,) = read_results(tmp_path / "bench")
    assert line["result"]["status"] == PROVED and line["result"]["checks"]["coqc"] == "ok"
    # without its corpus, the run stops at once and says what to do
    missing = replace(config, data=str(tmp_path / "gone"), out_dir=str(tmp_path / "bench2"))
    with pytest.raises(BenchError, match="--retrieval-weight 0"):
        run_bench(missing)
    without = replace(missing, retrieval_weight=0.0)
    assert build_policy("coq", "model", without.method_config).retrieval is None
