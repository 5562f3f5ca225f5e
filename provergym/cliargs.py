"""Old spellings of renamed command-line options: still accepted for one release, with a
warning that names the new one. Each option name means one thing in every command
(``--first N``: the database's first N statements; ``--limit N``: a sample of N;
``--out``: where output goes; ``--db``: a Metamath database; ``--no-progress``: no
progress output; ``--chunk-size``; ``--hammer-timeout``)."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def renamed(parser: argparse.ArgumentParser, old: str, new: str, dest: str, *,
            flag: bool = False, **kwargs: Any) -> None:
    """Accept ``old`` as a hidden alias of the option ``new`` (stored in ``dest``), with a
    warning on stderr. ``flag``: a store_true option."""

    class _Deprecated(argparse.Action):
        def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                     values: Any, option_string: str | None = None) -> None:
            print(f"provergym: warning: {old} is deprecated, use {new} (the old spelling "
                  "goes in the next release)", file=sys.stderr)
            setattr(namespace, self.dest, True if flag else values)

    parser.add_argument(old, dest=dest, action=_Deprecated, nargs=0 if flag else None,
                        default=argparse.SUPPRESS, help=argparse.SUPPRESS, **kwargs)
