#!/usr/bin/env python3
"""Parse the conclusion of every $p of a database with the grammar built from its own
syntax axioms, on N worker processes. Prints the time, the rate, and every failure or
ambiguity (target for set.mm: <= 60 s on 2 cores).

    python3 benchmarks/mm_grammar.py [--db set.mm] [--jobs 2]
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import time

from provergym.metamath.database import parse_database
from provergym.metamath.grammar import Grammar, GrammarError
from provergym.paths import SET_MM

_GRAMMAR: Grammar | None = None


def _parse_chunk(labels: list[str]) -> tuple[int, list[tuple[str, str]]]:
    gc.disable()
    grammar = _GRAMMAR
    assert grammar is not None
    db = grammar.db
    failures = []
    for label in labels:
        theorem = db[label]
        try:
            tree = grammar.parse(theorem.typecode, theorem.body.split(), grammar.floats_for(theorem))
            if grammar.text(tree).split() != theorem.body.split():
                failures.append((label, "tree does not print back to the statement"))
        except GrammarError as error:
            failures.append((label, str(error)))
    return len(labels), failures


def main() -> None:
    global _GRAMMAR
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=SET_MM)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    start = time.perf_counter()
    db = parse_database(args.db)
    parsed = time.perf_counter()
    _GRAMMAR = Grammar(db)
    built = time.perf_counter()
    labels = [s.label for s in db.theorems()]
    chunks = [labels[i::args.jobs * 8] for i in range(args.jobs * 8)]
    gc.freeze()
    with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
        results = pool.map(_parse_chunk, chunks)
    done = time.perf_counter()
    count = sum(n for n, _ in results)
    failures = [f for _, part in results for f in part]
    for label, reason in failures[:50]:
        print(f"  FAIL {label}: {reason}")
    seconds = done - built
    print(f"database  {args.db}: parsed in {parsed - start:.2f} s; grammar of "
          f"{len(_GRAMMAR.rules)} syntax axioms built in {built - parsed:.2f} s")
    print(f"grammar   {count} conclusions, {len(failures)} failures/ambiguities, "
          f"{seconds:.1f} s on {args.jobs} processes ({count / seconds:.0f}/s); target <= 60 s")


if __name__ == "__main__":
    main()
