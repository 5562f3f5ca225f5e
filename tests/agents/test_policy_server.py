"""The policy server answers as the local model does: the first-token distribution batched
over several concurrent requests (left-padded: equal up to float rounding), the scores
exactly, and it counts its batches."""

from __future__ import annotations

import pytest

from agents.train import resolve_config, train

ray = pytest.importorskip("ray", reason="Ray comes with `make install` (provergym[distributed])")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def model_dir(corpora, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "metamath-tiny"
    train(resolve_config("metamath", "tiny", {
        "data_dir": str(corpora["metamath"]), "out_dir": str(out), "steps": 20,
        "log_every": 5, "eval_every": 20, "save_every": 20, "progress": False,
        "cpu_threads": 1}))
    return str(out)


def test_served_calls_match_the_local_model_and_are_batched(model_dir):
    from agents.policy import Policy
    from agents.policy_server import ServedModel, start_server

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        server = start_server(model_dir, "test-policy-server", max_batch=8, deadline_ms=50)
        local = Policy.load(model_dir)
        served = ServedModel(local, server)
        goals = ["|- ( ph -> ph )", "|- ( ( ph -> ps ) -> ( ph -> ps ) )",
                 "|- ( A = B -> B = A )", "|- ph"]
        words = ["ax-mp", "syl", "id", "eqcomd"]
        # concurrent requests, as from several workers: one batch
        pending = [server.first_token_logprobs.remote(g, words) for g in goals]
        for goal, answer in zip(goals, ray.get(pending)):
            assert answer == pytest.approx(local.first_token_logprobs(goal, words), abs=1e-4)
        actions = ["syl", "ax-mp { ph : ps }"]
        assert served.score(goals[1], actions) == local.score(goals[1], actions)
        assert served.first_token_logprobs(goals[0], words) == pytest.approx(
            local.first_token_logprobs(goals[0], words), abs=1e-4)
        stats = ray.get(server.stats.remote())
        assert stats["requests"] == 6 and stats["first_token"] == 5 and stats["score"] == 1
        assert stats["batches"] < stats["requests"]  # the 4 concurrent ones went together
    finally:
        ray.shutdown()


def test_a_bench_on_ray_with_the_policy_server(model_dir, tmp_path):
    from agents.defaults import POLICY_SERVER
    from provergym.bench.runner import BenchConfig, BenchError, read_results, run_bench
    from provergym.distributed import Executor
    from provergym.search.bestfirst import SearchConfig

    theorems = ("simpl", "simpr", "dedi", "syl2anc", "mpbi", "ceq1")
    with pytest.raises(BenchError, match="--policy-server needs --executor ray"):
        BenchConfig(backend="metamath", methods=("model",), theorems=theorems,
                    out_dir=str(tmp_path), model=model_dir, policy_server=True)
    try:
        run_bench(BenchConfig(
            backend="metamath", methods=("model",), theorems=theorems, out_dir=str(tmp_path),
            db="/usr/share/metamath/databases/hol.mm", model=model_dir,
            search=SearchConfig(expansions=4), jobs=2, executor=Executor("ray"),
            policy_server=True, progress=False))
        lines = read_results(tmp_path)
        assert sorted(line["theorem"] for line in lines) == sorted(theorems)
        assert all(line["result"]["status"] != "error" for line in lines), lines
        stats = ray.get(ray.get_actor(POLICY_SERVER).stats.remote())
        assert stats["first_token"] > 0  # the workers' model calls went to the server
    finally:
        ray.shutdown()
