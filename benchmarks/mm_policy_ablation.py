"""What each part of the Metamath policy is worth, on the demo's corpus and model.

1. Label ranking: for held-out (valid) proof steps, the rank of the label the proof used
   among the labels that apply to the goal, ordered by label frequency, by the model, by
   the k-NN retriever alone, and by their kNN-LM mixtures (top-1, top-8, mean reciprocal
   rank).
2. Search: pass rates on the demo's 50 held-out theorems (budget 16 x 8) for the model at
   several retrieval weights, with and without the search shortcuts (hypothesis and
   one-step closing), next to the frequency and uniform policies. Every proof is checked
   again by our kernel and by metamath-exe, as in ``provergym bench``.

Run ``make demo`` first (it builds the corpus and trains the model), then:

    python3 benchmarks/mm_policy_ablation.py [--records 300] [--no-search]
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SET_MM = "/usr/share/metamath/databases/set.mm"


def label_ranking(env, corpus, model_dir: str, records: int, weights: list[float]) -> None:
    from agents.search_policies import MetamathModelPolicy
    from agents.tasks import TASKS
    from provergym.metamath.policies import training_label_counts

    task = TASKS["metamath"]
    counts = training_label_counts(env.db, corpus["train"].unique("theorem"), env.syntax_typecodes)
    last = max(env.db.statements[t].index for t in corpus["valid"].unique("theorem"))
    labels = [s.label for s in env.db.assertions()
              if s.typecode not in env.syntax_typecodes and s.index <= last]
    policy = MetamathModelPolicy(model_dir, env, labels, retrieval_weight=0.0)
    retriever = policy.model.retriever
    rows = [r for r in corpus["valid"] if env.db.statements[r["label"]].kind != "e"]
    random.Random(0).shuffle(rows)
    names = ["frequency", *(f"model+retrieval w={w:g}" for w in weights)]
    stats = {name: [0, 0, 0.0] for name in names}
    seen = 0
    for row in rows[:records]:
        state = env.goal_state(row["theorem"], row["goal"])
        applicable = policy.candidates.labels(state)
        if row["label"] not in applicable:
            continue  # the label does not apply as the environment sees the goal
        seen += 1
        model, _ = policy.label_logprobs(state, applicable)
        near = retriever.distribution(task.to_example(row).goal) if retriever else {}
        mass = sum(near.get(label, 0.0) for label in applicable) or 1.0
        orders = {"frequency": sorted(applicable, key=lambda x: -counts.get(x, 0))}
        for w in weights:
            score = {x: w * near.get(x, 0.0) / mass + (1 - w) * math.exp(model[x])
                     for x in applicable}
            orders[f"model+retrieval w={w:g}"] = sorted(applicable, key=lambda x: -score[x])
        for name, order in orders.items():
            rank = order.index(row["label"])
            entry = stats[name]
            entry[0] += rank == 0
            entry[1] += rank < 8
            entry[2] += 1 / (rank + 1)
    print(f"label ranking on {seen} valid steps (w=0: the model alone, w=1: retrieval alone)")
    for name, (top1, top8, rr) in stats.items():
        print(f"  {name:28s} top-1 {top1 / seen:6.1%}  top-8 {top8 / seen:6.1%}  MRR {rr / seen:.3f}")


def search(corpus, model_dir: str, weights: list[float], jobs: int) -> None:
    from provergym.bench.runner import BenchConfig, fixed_sample, run_bench
    from provergym.search.bestfirst import SearchConfig

    train = tuple(corpus["train"].unique("theorem"))
    sample = tuple(fixed_sample(corpus["test"].unique("theorem"), 50))
    base = SearchConfig(expansions=16, candidates=8, time_limit=30)
    plain = replace(base, close_by_hypothesis=False, close_in_one_step=False)
    print(f"search on the demo's {len(sample)} held-out theorems, budget 16 x 8")
    for shortcuts, search_config in (("shortcuts on", base), ("shortcuts off", plain)):
        runs = [("frequency", None), ("uniform", None)] + [("model", w) for w in weights]
        for method, weight in runs:
            out = tempfile.mkdtemp(prefix="ablation-")
            started = time.perf_counter()
            summary = run_bench(BenchConfig(
                backend="metamath", methods=(method,), theorems=sample, out_dir=out, db=SET_MM,
                train_theorems=train, model=model_dir, retrieval_weight=weight,
                search=search_config, jobs=jobs, resume=False, progress=False))
            row = summary["methods"][method]
            name = method if weight is None else f"model w={weight:g}"
            print(f"  {shortcuts:13s} {name:14s} {row['proved']:3d}/{row['attempted']}"
                  f"  ({time.perf_counter() - started:.0f} s, {row['check_failed']} rejected)",
                  flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    home = Path.home() / ".cache" / "provergym"
    parser.add_argument("--corpus", default=str(home / "corpora" / "metamath-first3000"))
    parser.add_argument("--model", default=str(home / "runs" / "metamath-first3000-tiny-hints"))
    parser.add_argument("--records", type=int, default=300, help="valid steps to rank")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--no-search", action="store_true")
    args = parser.parse_args()

    from datasets import load_from_disk

    from provergym.metamath.env import MetamathEnv

    corpus = load_from_disk(args.corpus)
    env = MetamathEnv(SET_MM)
    label_ranking(env, corpus, args.model, args.records, [0.0, 0.5, 0.9, 1.0])
    if not args.no_search:
        search(corpus, args.model, [0.0, 0.5, 1.0], args.jobs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
