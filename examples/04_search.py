"""Best-first proof search on held-out hol.mm theorems, every proof checked by metamath-exe.

A policy comes from the method registry (``provergym.bench.methods.build_policy``, the same
place ``provergym bench`` builds it): the trained model of ``03_train.py`` with ``--model``
(mixed, as in the benchmarks, with the frequency policy and the retrieved labels), else the
``frequency`` baseline (applicable labels ranked by how often the training proofs cite
them). ``provergym.search.bestfirst.best_first_search`` then searches each theorem under a
budget of expansions, and ``provergym.bench.check.check_metamath_results`` checks every
proof found with our kernel and with metamath-exe (on a copy of the database with the
proofs written in); a proof counts only when both accept it.

The theorems are hol.mm's held-out ones (the valid and test splits of the seeded split by
theorem); the counts and the lemma table come from the training split's proofs only.

Takes about 5 seconds with the frequency policy, 15 with a model. Writes the database
copy and ``proofs.json`` (theorem -> checked proof, for ``05_export.py``) under ``--out``
(default: a temporary folder, deleted at exit).

    python examples/04_search.py
    python examples/04_search.py --model /tmp/pg/run --out /tmp/pg/search
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

HOL_MM = "/usr/share/metamath/databases/hol.mm"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=HOL_MM, help=f"Metamath database (default {HOL_MM})")
    parser.add_argument("--model", help="a trained run folder (03_train.py --out); "
                        "default: the frequency baseline")
    parser.add_argument("--method", help="a registry method (frequency, uniform, model; "
                        "default: model with --model, else frequency)")
    parser.add_argument("--theorems", nargs="*",
                        help="$p labels (default: the held-out ones; the proofs of the train "
                        "split's, if named, are in the policy's counts)")
    parser.add_argument("--budget", type=int, default=16, help="expansions per theorem")
    parser.add_argument("--candidates", type=int, default=8, help="actions per expansion")
    parser.add_argument("--time-limit", type=float, default=20.0, help="seconds per theorem")
    parser.add_argument("--out", help="folder for the checked copy and proofs.json "
                        "(default: a temporary one)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="provergym-example-") as scratch:
        os.environ["PROVERGYM_HOME"] = str(Path(scratch) / "home")  # nothing in ~/.cache
        from corpora.metamath import database_split
        from provergym.bench.check import check_metamath_results
        from provergym.bench.methods import MethodConfig, build_policy, metamath_env
        from provergym.search.bestfirst import SearchConfig, best_first_search

        if args.model:  # (transformers is imported only for a model)
            import transformers

            transformers.utils.logging.disable_progress_bar()
        env = metamath_env(args.db)  # the backward environment, parsed once
        split = database_split(env.db)  # theorem names by split, in database order
        theorems = args.theorems or split["valid"] + split["test"]
        unknown = [name for name in theorems
                   if getattr(env.db.statements.get(name), "kind", None) != "p"]
        if unknown:
            parser.error(f"no $p statement in {args.db}: {' '.join(unknown)}")
        method = args.method or ("model" if args.model else "frequency")
        config = MethodConfig(
            db=args.db, model=args.model,
            train_theorems=tuple(split["train"]),  # whose proofs give counts and lemma table
            # candidates: labels before the last theorem searched (the environment also
            # refuses, per theorem, any label that does not come before it)
            labels_before=max(env.db.statements[name].index for name in theorems))
        policy = build_policy("metamath", method, config)
        search = SearchConfig(expansions=args.budget, candidates=args.candidates,
                              time_limit=args.time_limit)
        print(f"{method} policy, budget {args.budget} x {args.candidates}, "
              f"{len(theorems)} theorems of {args.db}")

        started = time.perf_counter()
        results = [best_first_search(env, name, policy, search) for name in theorems]
        out = Path(args.out) if args.out else Path(scratch) / "search"
        results = check_metamath_results(env.db, results, out / "checked")
        for result in results:
            checks = ", ".join(f"{checker} {verdict}" for checker, verdict in result.checks.items())
            print(f"  {result.theorem:10} {result.status:9} {result.stats.expansions:3d} "
                  f"expansions {result.stats.seconds:6.2f} s  {checks}")
        # "proved" only after both checkers accepted the proof; a rejected one would show
        # as check_failed (a bug to report), never as proved
        proofs = {r.theorem: r.proof for r in results if r.status == "proved"}
        rejected = sum(r.status == "check_failed" for r in results)
        print(f"proved {len(proofs)}/{len(results)} ({method}; {rejected} found proofs "
              f"rejected by a checker) in {time.perf_counter() - started:.1f} s")
        for result in results:
            if result.status == "proved":
                print(f"  {result.theorem}: {' ; '.join(result.actions)}")
        out.mkdir(parents=True, exist_ok=True)
        (out / "proofs.json").write_text(json.dumps(proofs, indent=1))
        if args.out:
            print(f"proofs in {out / 'proofs.json'}")


if __name__ == "__main__":
    main()
