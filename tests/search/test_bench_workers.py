"""The bench on the one worker pool (provergym.workers, tested in tests/test_workers.py): a
task that hangs or a worker that dies costs only its own theorem, recorded with the reason,
and the run goes on (fast; no prover is driven)."""
from __future__ import annotations

import os
import signal
import time

import pytest

from provergym.bench import runner
from provergym.bench.runner import BenchConfig, read_results, run_bench
from provergym.search.bestfirst import SearchConfig
from provergym.search.result import ERROR, EXHAUSTED, TIMEOUT, SearchResult, SearchStats

HOL = "/usr/share/metamath/databases/hol.mm"


def test_bench_records_a_killed_attempt_and_finishes(tmp_path, monkeypatch):
    def attempt(config, method, theorem):
        if theorem == "jca":
            time.sleep(120)
        if theorem == "adantl":
            os.kill(os.getpid(), signal.SIGKILL)
        return SearchResult(theorem, EXHAUSTED, message="nothing left",
                            stats=SearchStats(1, 1, 0, 0, 0.1, 0.0, 0.0))

    monkeypatch.setattr(runner, "_attempt", attempt)  # the forked workers inherit it
    monkeypatch.setattr(runner, "_hard_limit", lambda seconds: 2.0)
    theorems = ("jca", "adantl", "dedi", "simpr", "simpl")
    config = BenchConfig(backend="metamath", methods=("frequency",), theorems=theorems,
                         out_dir=str(tmp_path), db=HOL, search=SearchConfig(expansions=4),
                         jobs=2, progress=False)
    summary = run_bench(config)
    lines = {line["theorem"]: line["result"] for line in read_results(tmp_path)}
    assert set(lines) == set(theorems)
    assert lines["jca"]["status"] == TIMEOUT and "killed after 2 s" in lines["jca"]["message"]
    assert lines["adantl"]["status"] == ERROR
    assert "worker process died" in lines["adantl"]["message"]
    assert all(lines[t]["status"] == EXHAUSTED for t in ("dedi", "simpr", "simpl"))
    assert summary["methods"]["frequency"]["proved"] == 0


@pytest.mark.parametrize("seconds", [1.0, 60.0])
def test_the_hard_limit_leaves_room_beyond_the_attempts_own(seconds):
    assert runner._hard_limit(seconds) >= 2 * seconds + 60


def test_each_line_records_its_workers_peak_memory(tmp_path, monkeypatch):
    kept = []

    def attempt(config, method, theorem):
        if theorem == "dedi":
            kept.append(b"x" * (200 << 20))  # a worker that grows by 200 MiB and keeps it
        return SearchResult(theorem, EXHAUSTED, message="nothing left",
                            stats=SearchStats(1, 1, 0, 0, 0.1, 0.0, 0.0))

    monkeypatch.setattr(runner, "_attempt", attempt)
    config = BenchConfig(backend="metamath", methods=("frequency",),
                         theorems=("simpl", "dedi", "simpr"), out_dir=str(tmp_path), db=HOL,
                         search=SearchConfig(expansions=4), jobs=2, progress=False)
    summary = run_bench(config)
    peaks = {line["theorem"]: line["peak_rss_mb"] for line in read_results(tmp_path)}
    assert peaks["dedi"] >= 200
    assert all(peak > 0 for peak in peaks.values())
    assert summary["methods"]["frequency"]["peak_rss_mb"] == max(peaks.values())
