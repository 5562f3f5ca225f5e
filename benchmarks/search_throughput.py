"""Search throughput on set.mm: expansions/s and prover calls/s of best-first search with
the frequency policy (no model), next to the anchor measured in the same run: the
environment replaying the theorems' own proofs step by step (steps/s).

    python3 benchmarks/search_throughput.py [--theorems 40] [--first 2000] [--budget 16]
"""

from __future__ import annotations

import argparse
import time

from provergym.bench.runner import fixed_sample
from provergym.metamath.env import Action, MetamathEnv
from provergym.metamath.policies import FrequencyPolicy, training_label_counts
from provergym.metamath.prooftree import logical_steps, proof_tree
from provergym.search.bestfirst import SearchConfig, best_first_search

SET_MM = "/usr/share/metamath/databases/set.mm"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=SET_MM)
    parser.add_argument("--first", type=int, default=2000, help="theorems from the first N $p")
    parser.add_argument("--theorems", type=int, default=40, help="sample size")
    parser.add_argument("--budget", type=int, default=16)
    parser.add_argument("--candidates", type=int, default=8)
    args = parser.parse_args()

    started = time.perf_counter()
    env = MetamathEnv(args.db)
    print(f"load {args.db}: {time.perf_counter() - started:.1f} s")
    theorems = [s.label for s in env.db.theorems()[:args.first]]
    sample = fixed_sample(theorems, args.theorems)
    held_out = set(sample)
    counts = training_label_counts(env.db, [t for t in theorems if t not in held_out],
                                   env.syntax_typecodes)
    last = max(env.db.statements[t].index for t in sample)
    labels = [s.label for s in env.db.assertions()
              if s.typecode not in env.syntax_typecodes and s.index < last]
    started = time.perf_counter()
    policy = FrequencyPolicy(env, counts, labels)
    print(f"frequency policy over {len(labels)} labels built in "
          f"{time.perf_counter() - started:.1f} s")

    # Anchor: replaying the stored proofs through the same environment.
    steps = 0
    started = time.perf_counter()
    for theorem in sample:
        actions = [str(Action(s.label, s.substitution)) for s in
                   logical_steps(env.db, proof_tree(env.db, theorem), env.syntax_typecodes)]
        env.prove(theorem, actions)
        steps += len(actions)
    replay = time.perf_counter() - started
    print(f"anchor: replay of the stored proofs: {steps} steps in {replay:.2f} s = "
          f"{steps / replay:,.0f} steps/s")

    config = SearchConfig(expansions=args.budget, candidates=args.candidates)
    totals = {"expansions": 0, "prover_calls": 0, "seconds": 0.0, "policy": 0.0, "proved": 0}
    for theorem in sample:
        result = best_first_search(env, theorem, policy, config)
        totals["expansions"] += result.stats.expansions
        totals["prover_calls"] += result.stats.prover_calls
        totals["seconds"] += result.stats.seconds
        totals["policy"] += result.stats.policy_seconds
        totals["proved"] += result.proved
    seconds = totals["seconds"]
    print(f"search (frequency policy, d={args.budget}, e={args.candidates}) on "
          f"{len(sample)} theorems: proved {totals['proved']}, "
          f"{totals['expansions'] / seconds:,.0f} expansions/s, "
          f"{totals['prover_calls'] / seconds:,.0f} prover calls/s, "
          f"policy {100 * totals['policy'] / seconds:.0f}% of the time")


if __name__ == "__main__":
    main()
