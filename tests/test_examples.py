"""Every script of ``examples/`` runs to the end with small settings and prints its key lines.

Each runs as a user would run it (``python examples/NAME.py``), in a fresh process, from a
temporary folder, with ``$PROVERGYM_HOME`` there too. The corpus -> model -> search ->
export chain passes each script's ``--out`` to the next, as ``examples/README.md`` shows.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
HOL_MM = Path("/usr/share/metamath/databases/hol.mm")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not HOL_MM.is_file(), reason="needs the Debian package metamath-databases"),
]


def run_example(name: str, *arguments: str, cwd: Path, timeout: float = 300) -> str:
    """Run ``examples/<name>`` and return its stdout; fail with its output if it fails."""
    env = {**os.environ, "PROVERGYM_HOME": str(cwd / "home"), "PYTHONUNBUFFERED": "1"}
    done = subprocess.run([sys.executable, str(EXAMPLES / name), *arguments], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{name} exited {done.returncode}:\n{done.stdout[-3000:]}\n" \
                                 f"{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("examples")


@pytest.fixture(scope="module")
def corpus(root) -> tuple[Path, str]:
    """02's corpus folder and output."""
    out = run_example("02_corpus.py", "--out", str(root / "corpus"), cwd=root)
    return root / "corpus", out


@pytest.fixture(scope="module")
def run(root, corpus) -> tuple[Path, str]:
    """03's model, trained on 02's corpus (12 steps), and its output."""
    out = run_example("03_train.py", "--corpus", str(corpus[0]), "--out", str(root / "run"),
                      "--steps", "12", cwd=root)
    return root / "run", out


@pytest.fixture(scope="module")
def search(root, run) -> tuple[Path, str]:
    """04's proofs with 03's model (budget 4), and its output."""
    out = run_example("04_search.py", "--model", str(run[0]), "--budget", "4",
                      "--out", str(root / "search"), cwd=root)
    return root / "search", out


def test_01_environment_steps_both_provers(tmp_path):
    out = run_example("01_environment.py", cwd=tmp_path)
    assert "Proved: tr ts tt kct ta tr ts tt syl2anc.1 syl2anc.2 jca syl2anc.3 syl" in out
    assert "Rejected: 'eqid' comes after syl2anc in the database" in out
    assert "Answer: 'p\\n     : P'" in out  # Check p. as a query
    assert "Rejected: refused: 'Check' is a vernacular command, not a tactic" in out
    assert "Proved: Proof. intros [p q]. split; assumption. Qed." in out


def test_02_corpus_opens_with_datasets(corpus):
    folder, out = corpus
    sizes = re.search(r"load_from_disk: train ([\d,]+), valid ([\d,]+), test ([\d,]+)", out)
    assert sizes, out
    again = re.search(r"load_dataset: +train ([\d,]+), validation ([\d,]+), test ([\d,]+)", out)
    assert again and again.groups() == sizes.groups(), out
    assert (folder / "dataset_dict.json").is_file()
    assert not (folder / "home").exists()  # the corpus folder holds the dataset only


def test_03_train_then_from_pretrained(run):
    folder, out = run
    assert re.search(r"step +12 +valid loss \d", out), out
    assert "from_pretrained: LlamaForCausalLM" in out
    assert "Policy.propose(" in out
    assert (folder / "README.md").is_file()


def test_04_search_checks_every_proof(tmp_path):
    out = run_example("04_search.py", cwd=tmp_path)  # the frequency baseline
    proved = re.search(r"proved (\d+)/20 \(frequency; 0 found proofs rejected", out)
    assert proved and int(proved.group(1)) >= 2, out  # syl and tru take one expansion
    assert "metamath-exe ok" in out


def test_04_search_with_the_trained_model(search):
    folder, out = search
    assert re.search(r"proved \d+/20 \(model; 0 found proofs rejected", out), out
    assert (folder / "proofs.json").is_file()


def test_05_export_verified_by_metamath(tmp_path):
    out = run_example("05_export.py", cwd=tmp_path)  # searches its own proofs
    assert "metamath-exe 'verify proof *' on the whole copy: ok" in out
    assert "with two hypotheses swapped: rejected by metamath-exe" in out


def test_05_export_of_the_chain_s_proofs(root, search):
    out = run_example("05_export.py", "--proofs", str(search[0] / "proofs.json"), "--out",
                      str(root / "export"), cwd=root)
    assert "metamath-exe 'verify proof *' on the whole copy: ok" in out
    assert (root / "export" / "found" / "hol.mm").is_file()


def test_ppo_runs_and_compares_with_fixed_policies(tmp_path):
    out = run_example("ppo_metamath.py", "--iterations", "2", "--rollout-steps", "256",
                      "--eval-theorems", "20", cwd=tmp_path)
    assert re.search(r"iteration +2: +\d+ episodes finished", out), out
    for name in ("PPO, greedy", "PPO, sampled", "random valid candidate", "first candidate"):
        assert re.search(rf"{name} +\d+/20 proved", out), out
