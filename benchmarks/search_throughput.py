"""Search throughput on set.mm: expansions/s of best-first search for one worker, with the
frequency policy and (given ``--model``) the model, optionally side by side with another
revision of the code in the same run.

    python3 benchmarks/search_throughput.py [--first 0] [--theorems 10] [--budget 16]
        [--method frequency] [--method model --model RUN] [--baseline REV] [--repeats 2]

``--first 0`` (the default) samples from all of set.mm; ``--first 2000`` from its first 2,000
theorems. The training theorems (label counts, the look-ahead's lemma table) are all the
others of that range, as in ``provergym bench``; candidate labels are every assertion
before the last sampled theorem. The policy is built once per worker (its build time is
printed, not counted).

With ``--baseline REV`` the same measurement runs on a ``git worktree`` of REV (e.g. HEAD
before a change) and on the working tree, alternately, ``--repeats`` times each, in fresh
processes on the same theorems: the ratio of expansions per second is then measured side
by side, and the script says whether both codes found the same proofs with the same
number of expansions (an optimisation must not change what the search does).

The anchor printed before the search is the environment replaying the sampled theorems'
own proofs step by step (steps/s).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SET_MM = "/usr/share/metamath/databases/set.mm"


def measure(args: argparse.Namespace) -> None:
    """One worker: build each method's policy, search the sample, print one JSON line per
    method (and a human line on stderr)."""
    from provergym.bench.methods import MethodConfig, build_policy, metamath_env
    from provergym.bench.runner import fixed_sample
    from provergym.metamath.env import Action
    from provergym.metamath.prooftree import logical_steps, proof_tree
    from provergym.search.bestfirst import SearchConfig, best_first_search

    started = time.perf_counter()
    env = metamath_env(args.db)
    load = time.perf_counter() - started
    theorems = [s.label for s in env.db.theorems()]
    if args.first:
        theorems = theorems[:args.first]
    sample = fixed_sample(theorems, args.theorems)
    held_out = set(sample)
    train = tuple(t for t in theorems if t not in held_out)
    last = max(env.db.statements[t].index for t in sample)

    steps = 0
    started = time.perf_counter()
    for theorem in sample:
        actions = [str(Action(s.label, s.substitution)) for s in
                   logical_steps(env.db, proof_tree(env.db, theorem), env.syntax_typecodes)]
        env.prove(theorem, actions)
        steps += len(actions)
    replay = time.perf_counter() - started

    config = SearchConfig(expansions=args.budget, candidates=args.candidates,
                          time_limit=args.time_limit, keep_tree=False)
    for method in args.method:
        started = time.perf_counter()
        policy = build_policy("metamath", method, MethodConfig(
            db=args.db, model=args.model if method == "model" else None,
            train_theorems=train, labels_before=last))
        build = time.perf_counter() - started
        per_theorem = []
        totals = {"expansions": 0, "prover_calls": 0, "seconds": 0.0, "policy": 0.0}
        for theorem in sample:
            result = best_first_search(env, theorem, policy, config)
            totals["expansions"] += result.stats.expansions
            totals["prover_calls"] += result.stats.prover_calls
            totals["seconds"] += result.stats.seconds
            totals["policy"] += result.stats.policy_seconds
            per_theorem.append({"theorem": theorem, "status": result.status,
                                "expansions": result.stats.expansions,
                                "proof": list(result.actions) if result.proved else None})
        seconds = totals["seconds"]
        line = {"method": method, "load_s": round(load, 2), "build_s": round(build, 2),
                "replay_steps_per_s": round(steps / replay),
                "expansions": totals["expansions"], "seconds": round(seconds, 3),
                "expansions_per_s": round(totals["expansions"] / seconds, 2),
                "prover_calls_per_s": round(totals["prover_calls"] / seconds, 1),
                "policy_share": round(totals["policy"] / seconds, 3),
                "proved": sum(1 for t in per_theorem if t["proof"]),
                "theorems": per_theorem}
        print(json.dumps(line), flush=True)
        print(f"  {method}: proved {line['proved']}/{len(sample)}, "
              f"{line['expansions_per_s']} expansions/s, policy build {build:.1f} s, "
              f"policy {100 * line['policy_share']:.0f}% of the search time",
              file=sys.stderr, flush=True)


def run_worker(tree: Path, args: argparse.Namespace) -> list[dict]:
    """Run :func:`measure` in a fresh process importing provergym from ``tree``."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", "--db", args.db,
               "--first", str(args.first), "--theorems", str(args.theorems),
               "--budget", str(args.budget), "--candidates", str(args.candidates),
               "--time-limit", str(args.time_limit)]
    for method in args.method:
        command += ["--method", method]
    if args.model:
        command += ["--model", args.model]
    env = dict(os.environ, PYTHONPATH=str(tree))
    done = subprocess.run(command, env=env, cwd=tree, stdout=subprocess.PIPE, text=True,
                          check=True)
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=SET_MM)
    parser.add_argument("--first", type=int, default=0,
                        help="sample from the first N theorems (0: all)")
    parser.add_argument("--theorems", type=int, default=10, help="sample size")
    parser.add_argument("--budget", type=int, default=16)
    parser.add_argument("--candidates", type=int, default=8)
    parser.add_argument("--time-limit", type=float, default=600.0)
    parser.add_argument("--method", action="append", choices=["frequency", "model"])
    parser.add_argument("--model", help="a trained Metamath run folder (for --method model)")
    parser.add_argument("--baseline", help="a git revision to measure side by side")
    parser.add_argument("--repeats", type=int, default=2,
                        help="alternating runs of each code (with --baseline)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.method = args.method or ["frequency"]
    if "model" in args.method and not args.model:
        parser.error("--method model needs --model RUN")
    if args.worker:
        measure(args)
        return
    if not args.baseline:
        print(f"working tree ({ROOT}):", file=sys.stderr)
        report({"current": [run_worker(ROOT, args)]})
        return
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch) / "baseline"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q",
                        str(base), args.baseline], check=True)
        try:
            runs: dict[str, list[list[dict]]] = {"baseline": [], "current": []}
            for repeat in range(args.repeats):
                for name, tree in (("baseline", base), ("current", ROOT)):
                    print(f"run {repeat + 1}/{args.repeats}, {name} ({tree}):",
                          file=sys.stderr, flush=True)
                    runs[name].append(run_worker(tree, args))
            report(runs)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                            str(base)], check=False)


def report(runs: dict[str, list[list[dict]]]) -> None:
    methods = [line["method"] for line in runs["current"][0]]
    for index, method in enumerate(methods):
        rates = {name: [run[index]["expansions_per_s"] for run in found]
                 for name, found in runs.items()}
        first = {name: found[0][index] for name, found in runs.items()}
        line = first["current"]
        print(f"{method}: {len(line['theorems'])} theorems, proved {line['proved']}, "
              f"{line['expansions']} expansions; expansions/s per run: " +
              "; ".join(f"{name} {', '.join(map(str, r))}" for name, r in rates.items()))
        if "baseline" in rates:
            ratio = statistics.median(rates["current"]) / statistics.median(rates["baseline"])
            same = all(run[index]["theorems"] == first["baseline"]["theorems"]
                       for found in runs.values() for run in found)
            print(f"{method}: current / baseline = {ratio:.2f}x (medians); policy build "
                  f"{first['baseline']['build_s']} s -> {first['current']['build_s']} s; "
                  f"same proofs and expansions on every theorem: {'yes' if same else 'NO'}")
            if not same:
                for a, b in zip(first["baseline"]["theorems"], first["current"]["theorems"]):
                    if a != b:
                        print(f"  differs: {a['theorem']}: baseline {a['status']} "
                              f"{a['expansions']}, current {b['status']} {b['expansions']}")


if __name__ == "__main__":
    main()
