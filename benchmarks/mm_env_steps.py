#!/usr/bin/env python3
"""Environment steps per second on replayed steps: re-prove a random sample of theorems
through the backward environment, feeding it the logical steps of their own proofs
(label + full substitution as text, as a policy would). One core. The time includes
unification, $d checks, grammar parses of substitutions, proof assembly and the final
kernel check of every proof. Target: >= 20k steps/s.

    python3 benchmarks/mm_env_steps.py [--db set.mm] [--theorems 2000] [--seed 0]
"""

from __future__ import annotations

import argparse
import random
import time

from provergym.api import Proved
from provergym.metamath.database import parse_database
from provergym.metamath.env import Action, MetamathEnv
from provergym.metamath.prooftree import logical_steps, proof_tree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="/usr/share/metamath/databases/set.mm")
    parser.add_argument("--theorems", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    db = parse_database(args.db)
    theorems = db.theorems()
    rng = random.Random(args.seed)
    sample = rng.sample(theorems, min(args.theorems, len(theorems)))
    env = MetamathEnv(db)
    jobs = []
    for theorem in sample:
        root = proof_tree(db, theorem)
        steps = logical_steps(db, root, env.syntax_typecodes)
        jobs.append((theorem.label, [Action(s.label, s.substitution) for s in steps]))
    total = sum(len(actions) for _, actions in jobs)

    def run() -> tuple[float, int]:
        start = time.perf_counter()
        proved = sum(isinstance(env.prove(label, actions), Proved) for label, actions in jobs)
        return time.perf_counter() - start, proved

    cold, proved = run()  # first use of each label compiles its patterns
    warm, proved_again = run()  # parse cache and patterns warm, as in a long search
    print(f"replay    {len(jobs)} theorems, {total} logical steps, proved {proved}/{len(jobs)}")
    print(f"cold      {total / cold:,.0f} steps/s ({cold:.1f} s)")
    print(f"warm      {total / warm:,.0f} steps/s ({warm:.1f} s); target >= 20,000 steps/s")
    assert proved == proved_again == len(jobs), "a replayed proof failed"


if __name__ == "__main__":
    main()
