"""Where Metamath search loses: how often the proof's own step is among the candidates a
policy gives for a goal of a held-out theorem, for steps whose substitution unification
decides and for those it cannot (a variable its conclusion leaves open, ``syl``'s ``ps``).

The goals are the logical steps of the stored proofs of a fixed sample of set.mm test
theorems (the same sample as ``bench_metamath.py --limit N``); every policy is asked for
``--candidates`` actions on the same goals, side by side in one run.

    python3 benchmarks/mm_step_recall.py --model RUN [--theorems 60] [--steps 300]
        [--candidates 8] [--lemmas] [--index 4]

Needs the set.mm corpus (``provergym corpus build metamath``).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a trained Metamath run (adds the model policies)")
    parser.add_argument("--corpus", default=None, help="default: $PROVERGYM_HOME/corpora/metamath")
    parser.add_argument("--theorems", type=int, default=60, help="fixed sample of test theorems")
    parser.add_argument("--steps", type=int, default=300, help="steps drawn from their proofs")
    parser.add_argument("--candidates", type=int, default=8)
    parser.add_argument("--lemmas", action="store_true",
                        help="also each policy with the lemma look-ahead filling open variables")
    parser.add_argument("--index", type=int, default=0, metavar="K",
                        help="also each look-ahead policy with K lemmas per hypothesis found "
                             "through the conclusion index (the others run without it)")
    parser.add_argument("--only", default=None, help="comma-separated policy names to run")
    args = parser.parse_args()

    from datasets import load_from_disk
    from tqdm import tqdm

    from corpora.common import corpus_dir
    from corpora.metamath import SET_MM
    from provergym.bench.runner import fixed_sample, manifest_theorems
    from provergym.metamath.actions import CandidateConfig, canonical_action
    from provergym.metamath.env import MetamathEnv
    from provergym.metamath.policies import (
        FrequencyPolicy,
        training_label_counts,
        training_lemma_table,
    )

    env = MetamathEnv(SET_MM)
    theorems = fixed_sample(manifest_theorems("metamath", "test"), args.theorems)
    chosen = set(theorems)
    test = load_from_disk(str(args.corpus or corpus_dir("metamath")))["test"]
    rows = [i for i, name in enumerate(test["theorem"]) if name in chosen]
    random.Random(0).shuffle(rows)
    records = [test[i] for i in rows[:args.steps]]
    last = max(env.db.statements[t].index for t in theorems)
    labels = [s.label for s in env.db.assertions()
              if s.typecode not in env.syntax_typecodes and s.index < last]

    policies = {}
    counts = training_label_counts(env.db, manifest_theorems("metamath", "train"),
                                   env.syntax_typecodes)
    table = None
    if args.lemmas:
        table = training_lemma_table(env.db, manifest_theorems("metamath", "train"),
                                     env.syntax_typecodes)
    plain = CandidateConfig(index_lemmas=0)
    indexed = CandidateConfig(index_lemmas=args.index)
    policies["frequency"] = FrequencyPolicy(env, counts, labels, plain)
    if table:
        policies["frequency + lemmas"] = FrequencyPolicy(env, counts, labels, plain, table)
        if args.index:
            policies["frequency + lemmas + index"] = FrequencyPolicy(env, counts, labels,
                                                                     indexed, table)
    if args.model:
        from agents.search_policies import MetamathModelPolicy

        policies["model"] = MetamathModelPolicy(args.model, env, labels, plain)
        if table:
            policies["model + lemmas"] = MetamathModelPolicy(args.model, env, labels, plain,
                                                             table)
            if args.index:
                policies["model + lemmas + index"] = MetamathModelPolicy(
                    args.model, env, labels, indexed, table)
    if args.only:
        wanted = set(args.only.split(","))
        policies = {name: p for name, p in policies.items() if name in wanted}

    print(f"{len(records)} steps of {len(chosen)} set.mm test theorems, "
          f"{args.candidates} candidates per goal")
    print(f"{'policy':34} {'no substitution':>18} {'substitution':>16} {'all':>10} {'s/goal':>7}")
    for name, policy in policies.items():
        found, total = Counter(), Counter()
        started = time.perf_counter()
        for record in tqdm(records, desc=name, leave=False):
            state = env.goal_state(record["theorem"], record["goal"])
            wanted = canonical_action(env, record["theorem"], record["step"])
            kind = "substitution" if "{{" in record["step"] else "none"
            total[kind] += 1
            found[kind] += wanted in {a for a, _ in policy.propose(state, args.candidates)}
        seconds = (time.perf_counter() - started) / max(1, len(records))
        cells = [f"{found[k]}/{total[k]} ({found[k] / max(1, total[k]):.0%})"
                 for k in ("none", "substitution")]
        everything = sum(found.values()) / max(1, sum(total.values()))
        print(f"{name:34} {cells[0]:>18} {cells[1]:>16} {everything:>10.1%} {seconds:>7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
