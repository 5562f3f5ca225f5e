"""``provergym coq ...`` subcommands: ``replay`` (tactic states of .v files), ``hammer``.

Heavy imports happen inside the functions so ``provergym --help`` stays instant.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from provergym.cliargs import renamed


def load_path_args(args: argparse.Namespace) -> list[str]:
    """The coqc load-path flags given by :func:`add_load_paths`' options, paths resolved."""
    coq_args: list[str] = []
    for flag, pairs in (("-Q", getattr(args, "Q", None) or []),
                        ("-R", getattr(args, "R", None) or [])):
        for directory, library in pairs:
            coq_args += [flag, str(Path(directory).resolve()), library]
    for directory in getattr(args, "I", None) or []:
        coq_args += ["-I", str(Path(directory).resolve())]
    return coq_args


def add_load_paths(parser: argparse.ArgumentParser) -> None:
    """``-Q DIR LIB``, ``-R DIR LIB`` and ``-I DIR``, as coqc takes them (a _CoqProject
    beside the files is read as well)."""
    parser.add_argument("-Q", nargs=2, action="append", metavar=("DIR", "LIB"),
                        help="map DIR to logical path LIB (as coqc -Q)")
    parser.add_argument("-R", nargs=2, action="append", metavar=("DIR", "LIB"),
                        help="map DIR recursively to LIB (as coqc -R)")
    parser.add_argument("-I", action="append", metavar="DIR",
                        help="add DIR to the OCaml load path (as coqc -I)")


def _v_files(paths: list[str]) -> list[Path]:
    """The files named, and the ``.v`` files under each folder named (a folder without
    one is an error: it is a wrong path far more often than an empty project)."""
    from provergym.errors import UserError

    files: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found = sorted(path.rglob("*.v"))
            if not found:
                raise UserError(f"{path}: no .v file in this folder")
            files.extend(found)
        else:
            files.append(path)
    return files


def cmd_replay(args: argparse.Namespace) -> int:
    """Exit 0 if every file replays, 1 if Coq refuses a sentence of some file or a file
    ends inside a proof, a section or a module (as coqc would refuse it; listed),
    2 if a file is missing or cannot be read or split (the others are still replayed)."""
    from provergym.coq.replay import ReplayError, replay_file, write_jsonl
    from provergym.errors import CheckFailed, UserError

    coq_args = load_path_args(args)
    files = _v_files(args.files)
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise UserError(f"no such file: {missing[0]}")
    totals = {"files": 0, "sentences": 0, "lemmas": 0, "tactics": 0, "seconds": 0.0,
              "ast_parsed": 0, "ast_failed": 0}
    failed_files = 0
    unreadable: list[ReplayError] = []
    all_records = []
    for path in files:
        try:
            result = replay_file(path, coq_args, printing_all=args.printing_all,
                                 progress=not args.no_progress)
        except ReplayError as error:
            print(f"{error}  NOT READ")
            unreadable.append(error)
            continue
        totals["files"] += 1
        totals["sentences"] += result.sentences
        totals["lemmas"] += result.lemmas
        totals["tactics"] += len(result.records)
        totals["seconds"] += result.seconds
        totals["ast_parsed"] += result.ast_parsed
        totals["ast_failed"] += result.ast_failed
        all_records.extend(result.records)
        status = "ok" if result.error is None else f"FAILED {result.error}"
        print(f"{path}: {result.sentences} sentences, {result.lemmas} lemmas, "
              f"{len(result.records)} tactic states, {result.seconds:.2f} s  {status}")
        if result.error is not None:
            failed_files += 1
        for failure in result.ast_failures[:3] if args.printing_all else ():
            print(f"  unparsed goal: {failure}")
    print(f"total: {totals['files']} files, {totals['sentences']} sentences, "
          f"{totals['lemmas']} lemmas, {totals['tactics']} tactic states, "
          f"{totals['seconds']:.2f} s, {failed_files} failed, {len(unreadable)} not read")
    if args.printing_all:
        parsed, failed = totals["ast_parsed"], totals["ast_failed"]
        share = 100.0 * parsed / max(1, parsed + failed)
        print(f"Printing All ASTs: {parsed} goals parsed, {failed} not ({share:.3f}%)")
    if args.json:
        count = write_jsonl(all_records, args.json)
        print(f"wrote {count} records to {args.json}")
    if unreadable:
        more = f" (and {len(unreadable) - 1} more files, listed above)" \
            if len(unreadable) > 1 else ""
        raise UserError(f"{unreadable[0]}{more}")
    if failed_files:
        raise CheckFailed(f"{failed_files} of {len(files)} files did not replay: Coq refused "
                          "a sentence, or the file ended inside a proof, a section or a "
                          "module (listed above)")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    coq = subparsers.add_parser("coq", help="the Coq backend (coqidetop)",
                                description="The Coq backend: replay .v files through "
                                "coqidetop and record their tactic states, or try CoqHammer's "
                                "reconstruction tactics on lemmas.")
    commands = coq.add_subparsers(dest="coq_command", required=True)

    replay = commands.add_parser("replay", help="replay .v files and record tactic states")
    replay.add_argument("files", nargs="+", help=".v files or directories")
    add_load_paths(replay)
    replay.add_argument("--json", metavar="OUT", help="write the tactic records as JSON lines")
    replay.add_argument("--printing-all", action="store_true",
                        help="also print goals under Set Printing All and parse them")
    replay.add_argument("--no-progress", action="store_true", help="no progress bar")
    renamed(replay, "--quiet", "--no-progress", "no_progress", flag=True)
    replay.set_defaults(func=cmd_replay)

    build = commands.add_parser("build", help="compile a Coq project (_CoqProject with "
                                "coq_makefile, or dune) so its files can be opened")
    build.add_argument("directory", help="the project's folder (or any file or folder in it)")
    build.add_argument("--jobs", type=int, default=2, help="parallel compile jobs")
    build.set_defaults(func=cmd_build)

    hammer = commands.add_parser("hammer", help="try CoqHammer (sauto/best) on lemmas")
    hammer.add_argument("file", help="the .v file that holds the lemmas")
    hammer.add_argument("lemmas", nargs="*", help="lemma names (default: all)")
    add_load_paths(hammer)
    hammer.add_argument("--tactic", default="best", choices=["best", "sauto", "hauto"],
                        help="the CoqHammer reconstruction tactic to try")
    hammer.add_argument("--hammer-timeout", type=float, default=10.0,
                        help="seconds per lemma (Coq's Timeout, then the session's ladder)")
    hammer.add_argument("--out", metavar="DIR", help="write proved lemmas as .v and coqc")
    renamed(hammer, "--timeout", "--hammer-timeout", "hammer_timeout", type=float)
    renamed(hammer, "--export", "--out", "out")
    hammer.set_defaults(func=cmd_hammer)


def cmd_build(args: argparse.Namespace) -> int:
    """Exit 0 when the project compiled, 1 when Coq refused a file, 2 when there is no
    project."""
    from provergym.coq.build import build_project

    result = build_project(args.directory, jobs=args.jobs)
    print(f"built {result.directory} with {result.kind} in {result.seconds:.1f} s")
    return 0


def cmd_hammer(args: argparse.Namespace) -> int:
    """Exit 0 when every lemma was tried (whatever was proved), 2 when the file cannot be
    read, holds no lemma with a proof, names an unknown lemma, or a lemma could not be
    loaded (each listed)."""
    from provergym.api import Proved, ProverError
    from provergym.coq.hammer import HAMMER_IMPORT, HammerProver
    from provergym.errors import UserError

    coq_args = load_path_args(args)
    # A missing file or a coqidetop that will not start: InitError, reported by main (exit 2).
    prover = HammerProver(args.file, coq_args=coq_args, timeout=args.hammer_timeout,
                          tactic=args.tactic)
    proved = 0
    failed: list[str] = []
    with prover:
        names = args.lemmas or list(prover.env.lemmas)
        if not names:
            raise UserError(f"{args.file}: no lemma with a proof (a statement followed by its "
                            "proof up to Qed or Defined); nothing to try")
        unknown = [name for name in names if name not in prover.env.lemmas]
        if unknown:
            raise UserError(f"{args.file}: no lemma with a proof named {', '.join(unknown)}")
        for name in names:
            try:
                result = prover.prove(name)
            except ProverError as error:  # this lemma only: go on with the others
                print(f"{name}: error: {error}")
                failed.append(name)
                continue
            if isinstance(result, Proved):
                proved += 1
                print(f"{name}: proved: {result.proof}")
                if args.out:
                    from provergym.coq.export import export_and_check

                    out = Path(args.out) / f"Hammer_{name}.v"
                    check = export_and_check(prover.env, name, result.proof, out,
                                             preamble=(HAMMER_IMPORT,))
                    verdict = "accepted" if check.ok else f"refused: {check.output[-300:]}"
                    print(f"  exported to {out}: {verdict}")
            else:
                print(f"{name}: not proved: {result.reason[:200]}")
    print(f"proved {proved} of {len(names)}" + (f", {len(failed)} not loaded" if failed else ""))
    if failed:
        raise UserError(f"{args.file}: {len(failed)} of {len(names)} lemmas could not be "
                        f"loaded ({', '.join(failed[:5])}{', ...' if len(failed) > 5 else ''}; "
                        "errors listed above)")
    return 0
