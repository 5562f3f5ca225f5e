"""Two Ray nodes on this machine (``ray.cluster_utils.Cluster``: a head and a worker node,
one CPU each, separate processes): work spreads over both, and when the worker node dies
in mid-run no task is lost (its task is retried on the other node) and a bench's
results file is complete and the same as on the local pool."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

from provergym.bench.runner import RESULTS, BenchConfig, read_results, run_bench
from provergym.distributed import Executor, supervised
from provergym.search.bestfirst import SearchConfig

ray = pytest.importorskip("ray", reason="Ray comes with `make install` (provergym[distributed])")
from ray.cluster_utils import Cluster  # noqa: E402

pytestmark = pytest.mark.slow
HOL = "/usr/share/metamath/databases/hol.mm"


@pytest.fixture()
def two_nodes():
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    worker = cluster.add_node(num_cpus=1)
    ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False)
    cluster.wait_for_nodes()
    yield cluster, worker
    ray.shutdown()
    cluster.shutdown()


def _where(task: int) -> tuple[int, str]:
    time.sleep(1.0)
    return task, ray.get_runtime_context().get_node_id()


def test_tasks_span_both_nodes_and_survive_losing_one(two_nodes):
    cluster, worker = two_nodes
    results = []
    removed = False
    for task, node in supervised(_where, range(10), 2, limit=120,
                                 executor=Executor("ray", cluster.address)):
        results.append((task, node))
        if node == worker.node_id and not removed:
            cluster.remove_node(worker, allow_graceful=False)  # a crash, mid-run
            removed = True
    assert removed, "no task ran on the worker node"
    assert sorted(task for task, _ in results) == list(range(10))  # nothing lost
    assert {node for _, node in results} == {worker.node_id, cluster.head_node.node_id}


def test_a_bench_across_two_nodes_loses_no_result_when_a_node_dies(two_nodes, tmp_path):
    cluster, worker = two_nodes
    from provergym.bench.methods import metamath_env

    theorems = tuple(s.label for s in metamath_env(HOL).db.theorems())
    search = SearchConfig(expansions=8)
    out = tmp_path / "ray"

    killed_at: list[int] = []  # results written when the node died

    def kill_after_some_results() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            path = out / RESULTS
            written = path.read_text().count("\n") if path.exists() else 0
            if written >= 5:
                cluster.remove_node(worker, allow_graceful=False)
                killed_at.append(written)
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_after_some_results)
    killer.start()
    run_bench(BenchConfig(backend="metamath", methods=("frequency",), theorems=theorems,
                          out_dir=str(out), db=HOL, search=search, jobs=2,
                          executor=Executor("ray", cluster.address), progress=False))
    killer.join()
    assert killed_at and killed_at[0] < len(theorems)  # the node died in mid-run
    on_ray = {line["theorem"]: line["result"]["status"] for line in read_results(out)}
    assert sorted(on_ray) == sorted(theorems)  # every theorem has its line, once
    assert "error" not in on_ray.values()
    run_bench(BenchConfig(backend="metamath", methods=("frequency",), theorems=theorems,
                          out_dir=str(tmp_path / "local"), db=HOL, search=search, jobs=2,
                          progress=False))
    local = {line["theorem"]: line["result"]["status"]
             for line in read_results(Path(tmp_path / "local"))}
    assert on_ray == local
