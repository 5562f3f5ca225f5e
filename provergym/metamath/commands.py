"""``provergym mm replay``: re-prove theorems through the backward environment from the
logical steps of their own proofs, export the proofs in set.mm's compressed format into a
copy of the database, and have our kernel and metamath-exe check the copy."""

from __future__ import annotations

import argparse
import random
import time

from provergym.cliargs import renamed


def register_mm(mm_subparsers: argparse._SubParsersAction) -> None:
    replay = mm_subparsers.add_parser(
        "replay", help="re-prove theorems through the environment, export and check them",
        description=__doc__)
    replay.add_argument("file", help="the .mm database")
    replay.add_argument("labels", nargs="*", help="theorems to replay (default: a sample)")
    replay.add_argument("--limit", type=int, default=100,
                        help="how many random theorems when none are named (0: all)")
    replay.add_argument("--seed", type=int, default=0,
                        help="seed of the --limit sample")
    replay.add_argument("--out", metavar="DIR", default=None,
                        help="where to write the database copy (default: a temporary folder)")
    renamed(replay, "--export", "--out", "out")
    replay.add_argument("--no-metamath", action="store_true",
                        help="skip the metamath-exe check")
    replay.set_defaults(func=replay_command)


def replay_command(args: argparse.Namespace) -> int:
    from provergym.api import InitError, Proved
    from provergym.errors import CheckFailed, UserError
    from provergym.metamath.database import parse_database
    from provergym.metamath.env import Action, MetamathEnv
    from provergym.metamath.export import ExportError, export_and_check
    from provergym.metamath.prooftree import ProofTreeError, logical_steps, proof_tree
    from provergym.metamath.verify import verify_database
    from provergym.progress import bar as progress_bar

    db = parse_database(args.file)  # MetamathError (a UserError) if unreadable: exit 2
    env = MetamathEnv(db)
    if args.labels:
        unknown = [label for label in args.labels if label not in db or db[label].kind != "p"]
        if unknown:
            raise UserError(f"{args.file}: no $p named {', '.join(unknown)}")
        labels = list(args.labels)
    else:
        theorems = [t.label for t in db.theorems()]
        labels = theorems if args.limit <= 0 or args.limit >= len(theorems) else \
            random.Random(args.seed).sample(theorems, args.limit)
    proofs: dict[str, list[str]] = {}
    failures: list[str] = []
    steps = 0
    seconds = 0.0
    for label in progress_bar(labels, desc="replay", unit="thm"):
        try:
            root = proof_tree(db, label)
        except ProofTreeError as error:
            failures.append(f"{label}: {error}")
            continue
        actions = [Action(s.label, s.substitution)
                   for s in logical_steps(db, root, env.syntax_typecodes)]
        start = time.perf_counter()
        try:
            result = env.prove(label, actions)
        except InitError as error:
            failures.append(f"{label}: {error}")
            continue
        seconds += time.perf_counter() - start
        steps += len(actions)
        if isinstance(result, Proved):
            proofs[label] = result.proof.split()
        else:
            failures.append(f"{label}: {result.reason}")
    for line in failures:
        print(f"FAILED {line}")
    rate = steps / seconds if seconds else 0.0
    print(f"replayed {len(proofs)}/{len(labels)} theorems, {steps} steps "
          f"({rate:,.0f} steps/s), every proof checked by our kernel")
    if not proofs:
        raise CheckFailed(f"no theorem was replayed ({len(labels)} tried)")
    try:
        main, check = export_and_check(db, proofs, args.out) if not args.no_metamath \
            else (None, None)
    except ExportError as error:
        raise CheckFailed(f"export failed: {error}") from error
    if main is not None:
        report = verify_database(parse_database(main), list(proofs))
        print(f"exported {len(proofs)} compressed proofs to {main}")
        print(f"our kernel on the copy: {len(report.failures)} failures; metamath-exe: "
              f"{'no error' if check.ok else 'ERRORS'}")
        for line in check.errors[:20]:
            print(f"  metamath: {line}")
        if report.failures or not check.ok:
            raise CheckFailed(f"the exported copy {main} does not verify (see above)")
    if failures:
        raise CheckFailed(f"{len(failures)} of {len(labels)} theorems failed to replay "
                          "(listed above)")
    return 0
