"""Progress bars that suit where the output goes.

On a terminal, a tqdm bar. When stderr is not a terminal (a log file, CI, a pipe), a bar
would write a refresh for every update, so the same bar becomes one plain line every
``LOG_INTERVAL`` seconds, plus its first and last line. ``--no-progress``
on any subcommand turns every bar off, the libraries' too (``datasets``' map and save bars,
Hugging Face downloads): :func:`silence` is called by ``provergym.cli.main``.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

from tqdm import tqdm

LOG_INTERVAL = 30.0  # seconds between two lines of a bar written to a log
_QUIET = False


def silence() -> None:
    """Turn every progress bar off for the rest of the process (and its workers)."""
    global _QUIET
    _QUIET = True
    silence_libraries()


def quiet() -> bool:
    return _QUIET


def on_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stderr
        return False


def libraries_follow() -> None:
    """Off a terminal, the libraries' own bars (datasets' map and save) would flood a log:
    turn them off there too. Call before heavy work; cheap when nothing is imported."""
    if not on_terminal():
        silence_libraries()


def silence_libraries() -> None:
    """The libraries' bars off: read by datasets and huggingface_hub at import (and so by
    workers started later), and datasets' switch if it is already imported."""
    os.environ["HF_DATASETS_DISABLE_PROGRESS_BARS"] = "1"
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    if "datasets" in sys.modules:
        from datasets.utils import logging as datasets_logging

        datasets_logging.disable_progress_bar()
    if "transformers" in sys.modules:  # its "Loading weights" and "Writing model shards"
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()


@contextlib.contextmanager
def libraries_quiet(quiet: bool = True) -> Iterator[None]:
    """Within it, datasets' and transformers' bars are off (as they were before, after);
    for library calls made with ``progress=False``."""
    if not quiet:
        yield
        return
    import datasets.utils.logging as datasets_logging
    import transformers.utils.logging as transformers_logging

    was = (datasets_logging.is_progress_bar_enabled(),
           transformers_logging.is_progress_bar_enabled())
    datasets_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was[0] and not os.environ.get("HF_DATASETS_DISABLE_PROGRESS_BARS"):
            datasets_logging.enable_progress_bar()
        if was[1]:
            transformers_logging.enable_progress_bar()


class _LogBar(tqdm):
    """A tqdm bar that writes whole lines, at most one every LOG_INTERVAL seconds."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._printed_at = -math.inf
        self._closing = False
        kwargs.pop("dynamic_ncols", None)
        kwargs.setdefault("mininterval", LOG_INTERVAL)
        kwargs.setdefault("ncols", 100)
        super().__init__(*args, **kwargs)

    def display(self, msg: str | None = None, pos: int | None = None) -> bool:
        if self._closing:
            return True
        now = time.monotonic()
        if now - self._printed_at < LOG_INTERVAL:
            return True
        self._printed_at = now
        self._line(msg)
        return True

    def _line(self, msg: str | None = None) -> None:
        text = (self.__str__() if msg is None else msg).strip()
        if text:
            self.fp.write(text + "\n")
            self.fp.flush()

    def clear(self, nolock: bool = False) -> None:
        """Nothing to erase: a log keeps its lines (tqdm would write "\r" and blanks)."""

    def moveto(self, n: int) -> None:
        """No cursor to move in a log."""

    def close(self) -> None:
        if not self.disable and not self._closing:
            self._line()  # the last figures, once
            self._closing = True
            self.fp = io.StringIO()  # tqdm's own closing writes ("\n" or "\r") go nowhere
        super().close()


def bar(iterable: Any = None, *, enabled: bool = True, **kwargs: Any) -> tqdm:
    """A progress bar over ``iterable`` (or with ``total=``): a tqdm bar on a terminal, a
    line every LOG_INTERVAL seconds elsewhere, nothing when ``enabled`` is False or
    progress was silenced."""
    if not enabled or _QUIET:
        kwargs["disable"] = True
        return tqdm(iterable, **kwargs)
    kwargs.pop("disable", None)
    if on_terminal():
        kwargs.setdefault("dynamic_ncols", True)
        return tqdm(iterable, **kwargs)
    kwargs.setdefault("file", sys.stderr)
    return _LogBar(iterable, **kwargs)


def write(message: str) -> None:
    """A message above any bar on a terminal; a plain line elsewhere (tqdm.write would
    first "clear" the bars with carriage returns)."""
    if on_terminal():
        tqdm.write(message, file=sys.stderr)
    else:
        print(message, file=sys.stderr, flush=True)
