"""The Ray executor against the local (pebble) pool, side by side in one run: the same
benchmark (the demo's setting by default: 50 theorems of the set.mm test split among the
first 3,000, budget 16 x 8), run alternately with ``--executor local`` and ``--executor
ray`` and the same number of workers, in fresh output folders. Prints theorems per second
of each (the search phase: from the first attempt to the last result, Ray's start-up and
actors' policy builds included, each Ray run cold; the final proof check, the same code
for both, left out)
and whether both proved the same theorems with the same proofs. ``--warm`` leaves the
start-up out (Ray's, and the actors' loading of the database and the policies).

    python3 benchmarks/ray_executor.py [--limit 50] [--first 3000] [--jobs 2]
        [--method frequency] [--method model --model RUN] [--repeats 1] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from pathlib import Path

from provergym.bench import runner
from provergym.bench.methods import metamath_env
from provergym.bench.runner import BenchConfig, fixed_sample, manifest_theorems, read_results
from provergym.distributed import Executor
from provergym.paths import SET_MM
from provergym.search.bestfirst import SearchConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--first", type=int, default=3000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--budget", type=int, default=16)
    parser.add_argument("--method", action="append", choices=["frequency", "uniform", "model"])
    parser.add_argument("--model")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--ray-address", default=None)
    parser.add_argument("--out", default="/tmp/provergym-ray-bench")
    parser.add_argument("--warm", action="store_true",
                        help="before each timed run, run the methods untimed on 4 other "
                             "theorems (both executors): the steady state, start-up left out")
    args = parser.parse_args()
    methods = tuple(args.method or ["frequency"])
    env = metamath_env(SET_MM)
    allowed = {s.label for s in env.db.theorems()[:args.first or None]}
    names = [n for n in manifest_theorems("metamath", "test") if n in allowed]
    ranked = fixed_sample(names, None)
    theorems, warm_up = tuple(ranked[:args.limit]), tuple(ranked[args.limit:args.limit + 4])
    train = tuple(manifest_theorems("metamath", "train"))
    rates: dict[str, list[float]] = {"local": [], "ray": []}
    outcomes: dict[str, dict] = {}
    for repeat in range(args.repeats):
        for name in ("local", "ray"):
            out = Path(args.out) / f"{name}-{repeat}"
            shutil.rmtree(out, ignore_errors=True)
            config = BenchConfig(
                backend="metamath", methods=methods, theorems=theorems, out_dir=str(out),
                db=SET_MM, train_theorems=train, model=args.model,
                search=SearchConfig(expansions=args.budget), jobs=args.jobs,
                executor=Executor(name, args.ray_address if name == "ray" else None),
                progress=False)
            out.mkdir(parents=True)
            if name == "ray" and args.ray_address is None:
                import ray

                ray.shutdown()  # each Ray run starts cold: its own local Ray, new actors
            if args.warm:
                for method in methods:
                    list(runner._run_method(config, method, list(warm_up)))
            started = time.perf_counter()
            lines = []
            for method in methods:
                lines += list(runner._run_method(config, method, list(theorems)))
            seconds = time.perf_counter() - started
            (out / runner.RESULTS).write_text("".join(json.dumps(x) + "\n" for x in lines))
            rate = len(lines) / seconds
            rates[name].append(rate)
            found = {(x["method"], x["theorem"]): (x["result"]["status"],
                                                   x["result"]["actions"])
                     for x in read_results(out)}
            outcomes.setdefault(name, found)
            proved = sum(1 for status, _ in found.values() if status == "proved")
            print(f"run {repeat + 1}, {name}: {len(lines)} attempts in {seconds:.1f} s = "
                  f"{rate:.3f} attempts/s; proved {proved}", flush=True)
    ratio = statistics.median(rates["ray"]) / statistics.median(rates["local"])
    same = outcomes["ray"] == outcomes["local"]
    print(f"methods {', '.join(methods)} on {len(theorems)} theorems, {args.jobs} workers: "
          f"ray / local = {ratio:.2f}x attempts per second (medians); same statuses and "
          f"proofs on every attempt: {'yes' if same else 'NO'}")
    if not same:
        for key in sorted(outcomes["local"]):
            if outcomes["local"][key] != outcomes["ray"].get(key):
                print(f"  differs: {key}: local {outcomes['local'][key][0]}, "
                      f"ray {outcomes['ray'].get(key, ('missing',))[0]}")


if __name__ == "__main__":
    main()
