"""The policy server (agents/policy_server.py) against a model per worker, on CPU: W search
workers (Ray tasks) split the demo's theorems (set.mm test split among the first 3,000,
budget 16 x 8) and search with the model; either each loads its own model, or all send
their first-token and scoring calls to one server actor that batches them
(``--max-batch``, ``--deadline-ms``). Prints expansions/s of the whole, model requests/s,
the server's mean batch and occupancy, and whether both proved the same theorems.

    python3 benchmarks/policy_server.py --model RUN [--limit 50] [--workers 2]
        [--max-batch 16] [--deadline-ms 5] [--cpus 3]

``--cpus`` is what Ray is told this machine has (logical CPUs: the server takes one, each
worker one; on 2 real cores, 3 oversubscribes them, as a small cluster would not).
"""

from __future__ import annotations

import argparse
import time

import ray

from provergym.paths import SET_MM


@ray.remote(num_cpus=1)
def search_share(model: str, theorems: list[str], train: tuple[str, ...], labels_before: int,
                 budget: int, server: str | None) -> dict:
    from agents.policy_server import ServedModel
    from provergym.bench.methods import MethodConfig, build_policy, metamath_env
    from provergym.search.bestfirst import SearchConfig, best_first_search

    env = metamath_env(SET_MM)
    policy = build_policy("metamath", "model", MethodConfig(
        model=model, train_theorems=train, labels_before=labels_before))
    if server:
        policy.model = ServedModel(policy.model, ray.get_actor(server))
    config = SearchConfig(expansions=budget, keep_tree=False)
    started = time.perf_counter()
    expansions, proved = 0, []
    for theorem in theorems:
        result = best_first_search(env, theorem, policy, config)
        expansions += result.stats.expansions
        if result.proved:
            proved.append(theorem)
    return {"expansions": expansions, "seconds": time.perf_counter() - started,
            "proved": proved}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--first", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--budget", type=int, default=16)
    parser.add_argument("--max-batch", type=int, default=16)
    parser.add_argument("--deadline-ms", type=float, default=5.0)
    parser.add_argument("--cpus", type=int, default=3)
    args = parser.parse_args()

    from agents.policy_server import start_server
    from provergym.bench.methods import metamath_env
    from provergym.bench.runner import fixed_sample, manifest_theorems

    env = metamath_env(SET_MM)
    allowed = {s.label for s in env.db.theorems()[:args.first or None]}
    theorems = fixed_sample([n for n in manifest_theorems("metamath", "test")
                             if n in allowed], args.limit)
    train = tuple(manifest_theorems("metamath", "train"))
    last = max(env.db.statements[t].index for t in theorems)
    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
    shares = [theorems[i::args.workers] for i in range(args.workers)]
    # each mode's first task in a worker process loads the model: warm both up first
    ray.get([search_share.remote(args.model, theorems[:1], train, last, 1, None)
             for _ in range(args.workers)])
    for mode in ("local", "server"):
        name = None
        server = None
        if mode == "server":
            name = "provergym-policy-server"
            server = start_server(args.model, name, args.max_batch, args.deadline_ms)
        started = time.perf_counter()
        found = ray.get([search_share.remote(args.model, share, train, last, args.budget, name)
                         for share in shares])
        wall = time.perf_counter() - started
        expansions = sum(f["expansions"] for f in found)
        search = max(f["seconds"] for f in found)  # the workers search in parallel
        proved = sorted(t for f in found for t in f["proved"])
        line = (f"{mode}: {args.workers} workers, {len(theorems)} theorems, proved "
                f"{len(proved)}, {expansions} expansions in {search:.1f} s of search "
                f"({wall:.1f} s wall, model loading included) = "
                f"{expansions / search:.1f} expansions/s")
        if server is not None:
            stats = ray.get(server.stats.remote())
            line += (f"; server: {stats['requests']} requests in {stats['batches']} batches "
                     f"({stats['requests'] / search:.1f} requests/s), mean batch "
                     f"{stats['mean_batch']:.2f} (at most {args.workers}, one request "
                     f"per worker at a time; max {args.max_batch}), busy "
                     f"{stats['busy_s']:.1f} s")
            ray.kill(server)
        print(line, flush=True)
        print(f"  proved: {' '.join(proved)}", flush=True)


if __name__ == "__main__":
    main()
