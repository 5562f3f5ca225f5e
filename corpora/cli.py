"""``provergym corpus build NAME ...`` and ``provergym corpus stats NAME``.

``build NAME`` dispatches to the module ``corpora.<NAME>``, which defines
``add_arguments(parser)`` and ``build(args) -> Path`` (see ``corpora/common.py``). A builder
not written yet is listed with a clear message instead of breaking the command. Errors
reach ``provergym.cli.main`` as :class:`provergym.errors.UserError` (``CorpusError`` is one),
which prints them and picks the exit code; so does Ctrl-C. An interrupted build keeps its
finished shards, and the same command resumes it.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path
from typing import NoReturn

from corpora.common import SPLITS, CorpusError, load_corpus, read_build_info
from provergym.errors import UserError

BUILDERS = ("metamath", "coq", "rewrite")


def _builder(name: str):
    module_name = f"corpora.{name}"
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name == module_name:
            return None
        raise


def register(subparsers: argparse._SubParsersAction) -> None:
    corpus = subparsers.add_parser("corpus", help="build and inspect training corpora")
    commands = corpus.add_subparsers(dest="corpus_command", required=True)
    build = commands.add_parser("build", help="build a corpus (resumable)")
    kinds = build.add_subparsers(dest="corpus_name", required=True)
    for name in BUILDERS:
        module = _builder(name)
        if module is None:
            missing = kinds.add_parser(name, help=f"({name} builder not available yet)")
            missing.set_defaults(func=lambda args, n=name: _missing(n))
            continue
        first_line = (module.__doc__ or name).strip().splitlines()[0].replace("``", "")
        parser = kinds.add_parser(name, help=first_line.rstrip("."))
        module.add_arguments(parser)
        parser.set_defaults(func=lambda args, m=module: _build(m, args))
    stats = commands.add_parser("stats", help="records and keys per split of a built corpus")
    stats.add_argument("name", help="corpus name (metamath, coq, rewrite...) or a folder")
    stats.add_argument("--json", action="store_true", help="print one JSON object")
    stats.set_defaults(func=_stats)


def _missing(name: str) -> NoReturn:
    raise UserError(f"corpus build {name}: the module corpora.{name} is not written yet")


def _build(module, args: argparse.Namespace) -> int:
    try:
        path = module.build(args)
    except UserError:
        raise
    except OSError as error:  # from the libraries a builder calls: name the path
        where = f"{error.filename}: " if error.filename else ""
        raise CorpusError(f"{where}{error.strerror or error}") from error
    except ValueError as error:
        raise CorpusError(str(error)) from error
    what = "manifest written to" if getattr(args, "write_manifest", False) else "corpus saved to"
    print(f"{what} {path}")
    return 0


def _stats(args: argparse.Namespace) -> int:
    corpus = load_corpus(args.name)
    first = next(iter(corpus.values()))
    path = Path(first.cache_files[0]["filename"]).parent.parent if first.cache_files else None
    info = read_build_info(path) if path else {}
    if args.json:
        import json

        print(json.dumps({"name": args.name, "path": str(path) if path else None,
                          "splits": {split: len(data) for split, data in corpus.items()},
                          "keys": info.get("keys", {}), "counts": info.get("counts", {}),
                          "failures": len(info.get("failures", [])),
                          "seconds": info.get("seconds")}))
        return 0
    print(f"{args.name}" + (f" ({path})" if path else ""))
    total = 0
    for split in [s for s in SPLITS if s in corpus] + [s for s in corpus if s not in SPLITS]:
        count = len(corpus[split])
        total += count
        keys = info.get("keys", {}).get(split)
        print(f"  {split:<6} {count:>10,} records" + (f"  {keys:>8,} keys" if keys else ""))
    print(f"  {'total':<6} {total:>10,} records")
    for name, value in sorted(info.get("counts", {}).items()):
        print(f"  {name}: {value:,}")
    if info.get("failures"):
        print(f"  failures: {len(info['failures'])} (see {path}/build_info.json)")
    if "seconds" in info:
        print(f"  built in {info['seconds']} s")
    return 0
