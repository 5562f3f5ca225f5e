"""The Ray executor, on a local Ray (2 CPUs) standing in for a cluster: the same results as
the local pool; a worker killed with ``kill -9`` costs at most its task, retried once; an
overrunning task is lost as a timeout; actors are replaced after N tasks; and a bench run
on Ray proves the same theorems as on the forked pool, with the same results file."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from provergym.bench.runner import BenchConfig, read_results, run_bench
from provergym.distributed import DistributedError, Executor, supervised
from provergym.search.bestfirst import SearchConfig
from provergym.workers import ERROR, TIMEOUT

ray = pytest.importorskip("ray", reason="Ray comes with `make install` (provergym[distributed])")

HOL = "/usr/share/metamath/databases/hol.mm"
RAY = Executor("ray")


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    # this module's helpers travel to the actors by value (tests/ is not on their path)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _square(task: int) -> tuple[int, int]:
    return task, task * task


def _task(task: tuple[str, str]) -> str:
    name, folder = task
    marker = Path(folder) / name
    if name == "die-once" and not marker.exists():
        marker.write_text("died")
        os.kill(os.getpid(), signal.SIGKILL)
    if name == "die-always":
        os.kill(os.getpid(), signal.SIGKILL)
    if name == "hang":
        time.sleep(120)
    if name == "raise":
        raise RuntimeError("a bug in a task")
    return f"done {name}"


def _lost(task: tuple[str, str], status: str, message: str) -> str:
    return f"lost {task[0]}: {status}: {message}"


def _pid(task: int) -> int:
    return os.getpid()


def test_results_are_those_of_the_local_pool_in_order_and_as_they_come():
    tasks = list(range(30))
    expected = list(supervised(_square, tasks, 2))
    assert list(supervised(_square, tasks, 2, executor=RAY, ordered=True)) == [
        (i, i * i) for i in tasks]
    assert sorted(supervised(_square, tasks, 2, executor=RAY)) == sorted(expected)


def test_a_killed_worker_costs_its_task_one_retry_then_an_error_line(tmp_path):
    names = ["a", "die-once", "b", "die-always", "raise", "c"]
    results = list(supervised(_task, [(n, str(tmp_path)) for n in names], 2, limit=60,
                              lost=_lost, executor=RAY, ordered=True))
    assert results[0] == "done a" and results[2] == "done b" and results[5] == "done c"
    assert results[1] == "done die-once"  # killed once (its marker says so), then retried
    assert (tmp_path / "die-once").read_text() == "died"
    assert results[3].startswith(f"lost die-always: {ERROR}: its worker died 2 times")
    assert results[4] == f"lost raise: {ERROR}: RuntimeError: a bug in a task"  # not retried


def test_an_overrunning_task_is_lost_as_timeout_and_the_others_finish(tmp_path):
    started = time.monotonic()
    results = list(supervised(_task, [(n, str(tmp_path)) for n in ("hang", "x", "y")], 2,
                              limit=3, lost=_lost, executor=RAY, ordered=True))
    assert results[0].startswith(f"lost hang: {TIMEOUT}: killed after 3 s")
    assert results[1:] == ["done x", "done y"]
    assert time.monotonic() - started < 60


def test_actors_are_replaced_after_max_tasks():
    pids = list(supervised(_pid, range(4), 1, executor=Executor("ray", max_tasks=1)))
    assert len(set(pids)) == 4
    pids = list(supervised(_pid, range(4), 1, executor=RAY))
    assert len(set(pids)) == 1  # a warm actor: the same process for every task


def test_executor_options_are_checked():
    with pytest.raises(DistributedError, match="unknown executor 'dask'"):
        Executor("dask")
    with pytest.raises(DistributedError, match="--ray-address needs --executor ray"):
        Executor("local", "auto")


@pytest.mark.slow
def test_a_bench_on_ray_proves_what_the_local_pool_proves(tmp_path):
    theorems = ("simpl", "simpr", "dedi", "eqtru", "ceq12", "ceq1", "mpbi", "syl2anc")
    runs = {}
    for name, executor in (("local", Executor()), ("ray", RAY)):
        out = tmp_path / name
        run_bench(BenchConfig(backend="metamath", methods=("frequency", "uniform"),
                              theorems=theorems, out_dir=str(out), db=HOL,
                              search=SearchConfig(expansions=8), jobs=2, executor=executor,
                              progress=False))
        runs[name] = {(line["method"], line["theorem"]):
                      (line["result"]["status"], line["result"]["actions"],
                       line["result"]["checks"])
                      for line in read_results(out)}
    assert len(runs["ray"]) == 2 * len(theorems)
    assert runs["ray"] == runs["local"]
    assert any(status == "proved" for status, _, _ in runs["ray"].values())


@pytest.mark.slow
def test_a_corpus_built_on_ray_is_the_one_built_locally(tmp_path):
    from datasets import load_from_disk

    from corpora import metamath as mmcorpus

    built = {}
    for name, executor in (("local", Executor()), ("ray", RAY)):
        out = mmcorpus.build_corpus(HOL, tmp_path / name, jobs=2, chunk_size=25,
                                    progress=False, executor=executor)
        corpus = load_from_disk(str(out))
        built[name] = {split: corpus[split].to_list() for split in corpus}
    assert built["ray"] == built["local"]
    assert sum(len(rows) for rows in built["ray"].values()) > 100



def _grow(task: int) -> int:
    block = bytearray(64 << 20)  # 64 MB more, kept by the actor
    for page in range(0, len(block), 4096):
        block[page] = 1  # touched: resident
    # kept by the actor's process (this function travels by value, with fresh globals)
    sys.__dict__.setdefault("_provergym_test_kept", []).append(block)
    return os.getpid()


def _rss_mb(task: int) -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_an_actor_above_its_memory_cap_is_replaced():
    # a fresh actor's peak memory (that actor is replaced after its one task)
    fresh = list(supervised(_rss_mb, [0], 1, executor=Executor("ray", max_tasks=1)))[0]
    pids = list(supervised(_grow, range(4), 1,
                           executor=Executor("ray", memory_cap_mb=fresh + 100)))
    # +64 MB, +128 MB: past the cap after the second task, so a new actor takes the third
    assert pids[0] == pids[1] and pids[2] != pids[1]
