"""The ``provergym`` command. Each backend registers its own subcommands; heavy imports
happen inside the subcommand functions, so ``provergym --help`` is instant."""

from __future__ import annotations

import argparse
import importlib
import sys

# Modules that define ``register(subparsers)``; each adds its own subcommands.
COMMAND_MODULES = (
    "provergym.metamath.cli",
    "provergym.coq.cli",
    "provergym.demo",
    "provergym.prove_cli",
    "agents.cli",
    "corpora.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="provergym", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name == name:  # a backend not written yet: skip it, keep the others
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
