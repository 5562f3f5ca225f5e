"""Search on real Metamath databases; proofs checked by our kernel and by metamath-exe."""

from __future__ import annotations

import html
import json
from dataclasses import replace

import pytest

from provergym.bench import check
from provergym.metamath.env import MetamathEnv
from provergym.metamath.policies import FrequencyPolicy, UniformPolicy, training_label_counts
from provergym.search.bestfirst import SearchConfig, best_first_search
from provergym.search.result import CHECK_FAILED, PROVED

HOL = "/usr/share/metamath/databases/hol.mm"
HELD_OUT = ("jca", "adantl", "dedi", "simpr")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def hol():
    env = MetamathEnv(HOL)
    train = [s.label for s in env.db.theorems() if s.label not in HELD_OUT]
    labels = [s.label for s in env.db.assertions() if s.typecode not in env.syntax_typecodes]
    counts = training_label_counts(env.db, train, env.syntax_typecodes)
    return env, FrequencyPolicy(env, counts, labels), labels


@pytest.mark.parametrize("theorem", HELD_OUT)
def test_frequency_search_proves_held_out_theorems(hol, theorem, tmp_path):
    env, policy, _ = hol
    result = best_first_search(env, theorem, policy, SearchConfig(expansions=16, candidates=8))
    assert result.status == PROVED, result.message
    assert result.checks["kernel"] == "ok"
    # The proof is independent of the search: our kernel and metamath-exe accept it.
    env.kernel.verify_normal(theorem, result.proof.split())
    [checked] = check.check_metamath_results(env.db, [result], tmp_path)
    assert checked.status == PROVED, checked.message
    assert checked.checks == {"kernel": "ok", "metamath-exe": "ok"}


def test_uniform_policy_is_seeded_and_proves_something(hol):
    env, _, labels = hol
    first = [best_first_search(env, t, UniformPolicy(env, labels, seed=3),
                               SearchConfig(expansions=16)) for t in HELD_OUT]
    again = [best_first_search(env, t, UniformPolicy(env, labels, seed=3),
                               SearchConfig(expansions=16)) for t in HELD_OUT]
    assert [r.actions for r in first] == [r.actions for r in again]
    assert any(r.proved for r in first)


def test_policy_uses_only_earlier_labels(hol):
    env, policy, _ = hol
    state = env.open("jca")
    index = env.db.statements["jca"].index
    for action, _ in policy.propose(state, 50):
        assert env.db.statements[action.split()[0]].index < index


def test_wrong_proof_is_rejected_by_the_kernel(hol, tmp_path):
    env, policy, _ = hol
    result = best_first_search(env, "dedi", policy, SearchConfig(expansions=16))
    labels = result.proof.split()
    broken = replace(result, proof=" ".join(labels[:-2] + labels[-1:] + labels[-2:-1]))
    [checked] = check.check_metamath_results(env.db, [broken], tmp_path)
    assert checked.status == CHECK_FAILED and not checked.proved
    assert checked.checks["kernel"] != "ok"


def test_wrong_proof_is_rejected_by_metamath_exe(hol, tmp_path, monkeypatch):
    """If our kernel wrongly accepted a proof, metamath-exe still stops it."""
    env, policy, _ = hol
    result = best_first_search(env, "jca", policy, SearchConfig(expansions=16))
    labels = result.proof.split()
    broken = replace(result, proof=" ".join(labels[1:] + labels[:1]))
    monkeypatch.setattr(check, "kernel_verdicts", lambda db, proofs: {k: "ok" for k in proofs})
    [checked] = check.check_metamath_results(env.db, [broken], tmp_path)
    assert checked.status == CHECK_FAILED
    assert checked.checks["kernel"] == "ok" and checked.checks["metamath-exe"] != "ok"


def test_bench_runner_resumes_checks_reports_and_exports(tmp_path):
    from provergym.bench.export import export_results
    from provergym.bench.report import write_report
    from provergym.bench.runner import BenchConfig, BenchError, read_results, run_bench

    env = MetamathEnv(HOL)
    train = tuple(s.label for s in env.db.theorems() if s.label not in HELD_OUT)
    config = BenchConfig(backend="metamath", methods=("frequency", "improve"),
                         theorems=HELD_OUT, out_dir=str(tmp_path / "run"), db=HOL,
                         train_theorems=train, search=SearchConfig(expansions=16),
                         jobs=2, progress=False, improve_seconds=10)
    summary = run_bench(config)
    lines = read_results(tmp_path / "run")
    assert len(lines) == 2 * len(HELD_OUT)
    assert summary["methods"]["frequency"]["proved"] == len(HELD_OUT)
    # the clean subset (hol.mm marks nothing discouraged; restatements are looked up)
    clean = summary["clean"]
    assert clean["theorems"] + len(clean["excluded"]) == len(HELD_OUT)
    assert summary["methods"]["frequency"]["clean"]["attempted"] == clean["theorems"]
    assert "restatement" in clean["detection"]
    for line in lines:
        result = line["result"]
        if result["status"] == PROVED:  # every success was checked by both checkers
            assert result["checks"]["kernel"] == "ok"
            assert result["checks"]["metamath-exe"] == "ok"

    # Resume: a finished run adds nothing; a missing line is run again.
    run_bench(replace(config, jobs=1))
    assert len(read_results(tmp_path / "run")) == len(lines)
    path = tmp_path / "run" / "results.jsonl"
    kept = [json.dumps(line) for line in lines if line["theorem"] != "dedi"]
    path.write_text("\n".join(kept) + "\n")
    run_bench(replace(config, jobs=1))
    again = read_results(tmp_path / "run")
    assert len(again) == len(lines)
    def keys(rows):
        return {(row["method"], row["theorem"]) for row in rows}

    assert keys(again) == keys(lines)
    # Other settings are not mixed into these results: a clear error, nothing lost
    for changed in (replace(config, search=SearchConfig(expansions=4)),
                    replace(config, lemmas=0),
                    replace(config, frequency_weight=0.0),
                    replace(config, index_lemmas=config.index_lemmas + 4)):
        with pytest.raises(BenchError, match="other settings"):
            run_bench(changed)
        assert len(read_results(tmp_path / "run")) == len(lines)
    run_bench(replace(config, search=replace(config.search, keep_tree=False), jobs=1))

    report = write_report(tmp_path / "run").read_text()
    assert "<table" in report and "data:image/png;base64," in report
    assert "dedi" in report and "A search tree" in report
    assert "frequency vs improve" in report and "exact McNemar p" in report
    # the configuration and versions, statements, the legend, proofs grouped by theorem
    coq_version = json.loads((tmp_path / "run" / "environment.json").read_text())["coq"]
    assert "<h2>Configuration</h2>" in report and coq_version in report
    assert "16 expansions" in report and "frequency, improve" in report
    statement = env.db.statements["dedi"].expression()
    assert html.escape(statement) in report
    assert "✘ rejected" in report and "✘ bug" not in report  # the legend names it
    assert report.count("<summary><b>dedi</b>") == 1  # one block per theorem

    # the export is a maintainer's patch: the search found hol.mm's own proofs again, so
    # nothing goes in (tests/metamath/test_submit.py covers proofs that do)
    message = export_results(path, tmp_path / "export")
    assert message.startswith(f"0 of {len(HELD_OUT)} proofs go into the patch"), message
    assert "the same proof as the one it has" in message
    assert not list((tmp_path / "export").glob("*.mm"))  # no copy unless asked for
    assert not (tmp_path / "run" / "export").exists()  # the checks left no copies either
