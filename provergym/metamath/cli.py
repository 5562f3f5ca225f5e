"""``provergym mm ...``: the Metamath subcommands.

``provergym mm verify FILE [--jobs N] [--allow-incomplete]`` parses a database (with its
``$[ $]`` includes) and checks every proof (with ``--jobs 2``, checking starts while the
parse goes on, and "verify" in the summary is the time after the parse). Exit status:

- 0: every proof verified (with ``--allow-incomplete``, proofs with ``?`` steps are listed
  as incomplete but do not fail the run, as long as ``?`` is all that is wrong with them:
  one that also errs, e.g. leaves extra entries on the stack, is an error);
- 1: some proof failed, or is incomplete (``?`` steps): each is listed with its label,
  file:line and reason; an incomplete proof is never counted as verified;
- 2: the file cannot be read or is malformed; the message names the file and line.

Other modules add ``mm`` subcommands by defining ``register_mm(mm_subparsers)`` and being
listed in :data:`MM_COMMAND_MODULES` (a module that does not exist yet is skipped).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
import time

# Modules with ``register_mm(mm_subparsers)``; each adds its own ``mm`` subcommands.
MM_COMMAND_MODULES: tuple[str, ...] = ("provergym.metamath.cli", "provergym.metamath.commands")


def register(subparsers: argparse._SubParsersAction) -> None:
    mm = subparsers.add_parser("mm", help="Metamath: verify databases and proofs",
                               description="Metamath subcommands.")
    mm_subparsers = mm.add_subparsers(dest="mm_command", required=True)
    for name in MM_COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name == name:
                continue
            raise
        module.register_mm(mm_subparsers)


def register_mm(mm_subparsers: argparse._SubParsersAction) -> None:
    verify = mm_subparsers.add_parser(
        "verify", help="check every proof of a .mm database",
        description="Check every proof of a .mm database, $d conditions included. Exit 0 "
        "if all verify, 1 if any fails (or is incomplete), 2 if the file is unreadable "
        "or malformed.")
    verify.add_argument("file", help="the .mm database ($[ $] includes are followed)")
    verify.add_argument("--jobs", "-j", type=int, default=None,
                        help="worker processes (default: the usable CPU cores)")
    verify.add_argument("--json", action="store_true",
                        help="print one JSON object (counts, seconds, failures) instead of text")
    verify.add_argument("--allow-incomplete", action="store_true",
                        help="list proofs with ? steps as incomplete without failing "
                        "(one with ? that also errs still fails)")
    verify.set_defaults(func=verify_command)


def _default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def verify_command(args: argparse.Namespace) -> int:
    from provergym.errors import CheckFailed, UserError
    from provergym.metamath.verify import parse_and_verify

    start = time.perf_counter()
    jobs = args.jobs if args.jobs is not None else _default_jobs()
    if jobs < 1:
        raise UserError(f"--jobs must be at least 1, not {jobs}")
    # The process exits right after: no cyclic garbage collection over the millions of
    # objects of the database (a full collection after the check cost ~0.3-0.5 s on set.mm).
    gc.disable()
    # With 2 jobs, checking starts while the parse goes on (see parse_and_verify). An
    # unreadable or malformed file raises MetamathError, a UserError: exit 2.
    _, report, parse_seconds = parse_and_verify(args.file, jobs=jobs, progress=not args.json)
    seconds = time.perf_counter() - start
    errors, incomplete = len(report.errors), len(report.incomplete)
    failed = errors or (incomplete and not args.allow_incomplete)
    if args.json:
        import json

        print(json.dumps({
            "file": args.file, "ok": not failed, "checked": report.checked,
            "verified": report.checked - errors - incomplete, "errors": errors,
            "incomplete": incomplete, "seconds": round(seconds, 3),
            "parse_seconds": round(parse_seconds, 3), "jobs": jobs,
            "failures": [{"label": f.label, "file": f.file, "line": f.line,
                          "kind": "incomplete" if f.incomplete else "error",
                          "reason": f.reason} for f in report.failures]}))
        if failed:
            raise CheckFailed(f"{args.file}: {errors} failed, {incomplete} incomplete")
        _exit_now()
        return 0
    for failure in report.failures:
        what = "incomplete" if failure.incomplete else "error"
        print(f"{failure.file}:{failure.line}: {failure.label}: {what}: {failure.reason}")
    summary = f"verified {report.checked - errors - incomplete} proofs, {errors} errors"
    if incomplete:
        summary += f", {incomplete} incomplete"
    print(f"{summary} in {seconds:.1f} s (parse {parse_seconds:.1f} s, "
          f"verify {report.seconds:.1f} s after it, {jobs} jobs)")
    if failed:
        failed = f"{errors} failed" + (f", {incomplete} incomplete" if incomplete else "")
        raise CheckFailed(f"{args.file}: {failed} (listed above)")
    _exit_now()
    return 0


def _exit_now() -> None:
    """Exit 0 without tearing down millions of parsed objects (that takes about a second
    for set.mm). Skipped under pytest, which calls commands in-process. A failed check
    raises instead, through main's one error path, and pays the second."""
    if "pytest" in sys.modules:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
