"""The ``provergym`` command. Each backend registers its own subcommands; heavy imports
happen inside the subcommand functions, so ``provergym --help`` is instant."""

from __future__ import annotations

import argparse
import importlib
import sys

from provergym import progress
from provergym.api import ProverError
from provergym.errors import UserError

DESCRIPTION = ("provergym: a learning environment for machine theorem proving over Metamath "
               "and Coq. Environments, corpora, transformer policies, best-first search "
               "checked by metamath-exe and coqc, expert iteration. Start with `provergym "
               "demo`; `provergym COMMAND --help` describes each command.")

# Modules that define ``register(subparsers)``; each adds its own subcommands.
COMMAND_MODULES = (
    "provergym.metamath.cli",
    "provergym.coq.cli",
    "provergym.demo",
    "provergym.prove_cli",
    "agents.cli",
    "corpora.cli",
    "provergym.env_report",
)


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows an option's default unless it is empty (None, False, "") or the help already
    says it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default in (None, False, "", [], argparse.SUPPRESS) or "default" in text:
            return text
        return super()._get_help_string(action)


def _finish(parser: argparse.ArgumentParser, help_text: str | None = None) -> None:
    """Every parser below the top one: the formatter, and its help as its description."""
    parser.formatter_class = _Formatter
    if parser.description is None and help_text:
        parser.description = help_text[0].upper() + help_text[1:] + "."
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                _finish(sub, helps.get(name))


def build_parser() -> argparse.ArgumentParser:
    from provergym import __version__

    parser = argparse.ArgumentParser(prog="provergym", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"provergym {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name == name:  # a backend not written yet: skip it, keep the others
                continue
            raise
        module.register(subparsers)
    _finish(parser)
    return parser


def _fail(error: Exception, exit_code: int) -> int:
    print(f"provergym: error: {str(error) or type(error).__name__}", file=sys.stderr)
    return exit_code


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; return the exit status. Errors have one path: a subcommand
    raises :class:`~provergym.errors.UserError` (or lets a
    :class:`~provergym.api.ProverError` through) and this prints ``provergym: error:
    <message>`` on stderr, no traceback, and returns 2 for bad input or usage, 1 for a
    check that ran and failed (:class:`~provergym.errors.CheckFailed`), 130 on Ctrl-C."""
    parser = build_parser()
    args = parser.parse_args(argv)  # usage errors: argparse exits 2 with "error:"
    if getattr(args, "no_progress", False) or getattr(args, "quiet", False):
        progress.silence()  # every bar, the libraries' too
    else:
        progress.libraries_follow()  # off a terminal, datasets' bars would flood a log
    try:
        return int(args.func(args) or 0)
    except UserError as error:
        return _fail(error, error.exit_code)
    except ProverError as error:  # coqidetop that will not start, a lemma it cannot open
        return _fail(error, 2)
    except KeyboardInterrupt:
        print("provergym: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
