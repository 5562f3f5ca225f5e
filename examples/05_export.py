"""Export proofs into a copy of the Metamath database and have metamath-exe verify it.

``provergym.metamath.export.export_and_check`` compresses each proof (label -> normal
proof) in the database's own format, writes it in place of the stored proof in a copy of
the database, and runs metamath-exe's ``verify proof`` on it. Then the whole copy is
verified (``verify proof *``), as ``provergym export`` does for a benchmark's
``results.jsonl``: the new proofs must fit among all the others. Last, one proof with two
hypotheses swapped is exported the same way, to show that the checker really checks.

The proofs come from ``--proofs`` (the ``proofs.json`` that ``04_search.py --out`` writes),
or else from a quick best-first search with the frequency policy on hol.mm's held-out
theorems.

Takes about 3 seconds. Writes the database copies under ``--out`` (default: a temporary
folder, deleted at exit).

    python examples/05_export.py
    python examples/05_export.py --proofs /tmp/pg/search/proofs.json --out /tmp/pg/export
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

HOL_MM = "/usr/share/metamath/databases/hol.mm"


def search_some_proofs(db_path: str) -> dict[str, str]:
    """Proofs of hol.mm's held-out theorems that the frequency policy finds (see 04)."""
    from corpora.metamath import database_split
    from provergym.bench.methods import MethodConfig, build_policy, metamath_env
    from provergym.search.bestfirst import SearchConfig, best_first_search

    env = metamath_env(db_path)
    split = database_split(env.db)
    theorems = split["valid"] + split["test"]
    policy = build_policy("metamath", "frequency", MethodConfig(
        db=db_path, train_theorems=tuple(split["train"]),
        labels_before=max(env.db.statements[name].index for name in theorems)))
    results = [best_first_search(env, name, policy, SearchConfig(expansions=16))
               for name in theorems]
    # each proof was replayed and accepted by our kernel; metamath-exe checks it below
    return {r.theorem: r.proof for r in results if r.status == "proved"}


def swapped_hypotheses(db, proof: list[str]) -> list[str] | None:
    """``proof`` with its first two distinct $e hypotheses swapped (None: it has no two)."""
    essentials = list(dict.fromkeys(step for step in proof
                                    if db.statements[step].kind == "e"))
    if len(essentials) < 2:
        return None
    first, second = essentials[:2]
    swap = {first: second, second: first}
    return [swap.get(step, step) for step in proof]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=HOL_MM, help=f"Metamath database (default {HOL_MM})")
    parser.add_argument("--proofs", help="a JSON file {theorem: normal proof} "
                        "(04_search.py --out writes one); default: search for some")
    parser.add_argument("--out", help="folder for the database copies (default: a temporary "
                        "one)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="provergym-example-") as scratch:
        os.environ["PROVERGYM_HOME"] = str(Path(scratch) / "home")  # nothing in ~/.cache
        from provergym.metamath.database import parse_database
        from provergym.metamath.export import (
            check_with_metamath,
            compress_proof,
            export_and_check,
        )

        out = Path(args.out) if args.out else Path(scratch) / "export"
        if args.proofs:
            proofs = json.loads(Path(args.proofs).read_text(encoding="utf-8"))
            print(f"{len(proofs)} proofs from {args.proofs}")
        else:
            proofs = search_some_proofs(args.db)
            print(f"{len(proofs)} proofs found by the frequency policy")
        if not proofs:
            print("nothing to export")
            return
        db = parse_database(args.db)
        steps = {label: proof.split() for label, proof in proofs.items()}
        for label, proof in steps.items():
            print(f"  {label}: {len(proof)} steps -> {compress_proof(db, label, proof).strip()}")

        main_file, check = export_and_check(db, steps, out / "found")
        print(f"metamath-exe 'verify proof' on each exported theorem of {main_file}: "
              f"{'ok' if check.ok else 'REJECTED ' + '; '.join(check.errors)}")
        whole = check_with_metamath(main_file, ["*"])
        print(f"metamath-exe 'verify proof *' on the whole copy: "
              f"{'ok' if whole.ok else 'REJECTED ' + '; '.join(whole.errors[:3])}")

        label, bad = next(((label, swapped) for label, proof in steps.items()
                           if (swapped := swapped_hypotheses(db, proof)) is not None),
                          (None, None))
        if label is None:
            print("no proof cites two hypotheses: the tampered check is skipped")
            return
        _, tampered = export_and_check(db, {label: bad}, out / "tampered")
        print(f"{label} with two hypotheses swapped: "
              f"{'accepted (unexpected)' if tampered.ok else 'rejected'} by metamath-exe")
        message = tampered.output.split(f"MM> verify proof {label}\n", 1)[-1]
        for line in message.splitlines()[1:5]:  # its error, where, and why
            print(f"    {line}")
        if args.out:
            print(f"copies in {out}")


if __name__ == "__main__":
    main()
