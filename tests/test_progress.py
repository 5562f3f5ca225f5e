"""Progress output: a bar on a terminal, a few plain lines in a log, nothing when silenced."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from provergym import progress

REPO = Path(__file__).resolve().parents[1]


class _Log(io.StringIO):
    def isatty(self) -> bool:
        return False


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture()
def loud(monkeypatch):
    monkeypatch.setattr(progress, "_QUIET", False)


def test_off_a_terminal_a_bar_writes_a_few_whole_lines(loud, monkeypatch) -> None:
    log = _Log()
    monkeypatch.setattr(sys, "stderr", log)
    with progress.bar(total=5000, desc="work", unit="thm") as bar:
        for _ in range(5000):
            bar.update(1)
            bar.set_postfix(proved=1)  # refreshes on every call on a terminal
    text = log.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert 1 <= len(lines) <= 3, lines  # the first line and the last one
    assert lines[-1].startswith("work") and "5000/5000" in lines[-1]


def test_a_warning_written_beside_a_log_bar_has_no_carriage_return(loud, monkeypatch) -> None:
    log = _Log()
    monkeypatch.setattr(sys, "stderr", log)
    with progress.bar(total=3, desc="work") as bar:
        progress.write("warning: something")
        bar.update(3)
    assert "\r" not in log.getvalue() and "warning: something\n" in log.getvalue()


def test_on_a_terminal_it_is_tqdm_and_silenced_it_is_nothing(loud, monkeypatch) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress.bar(total=3, desc="tty") as bar:
        bar.update(3)
    assert "\r" in terminal.getvalue()
    log = _Log()
    monkeypatch.setattr(sys, "stderr", log)
    with progress.bar(total=3, desc="off", enabled=False) as bar:
        bar.update(3)
    monkeypatch.setattr(progress, "_QUIET", True)
    with progress.bar(range(3), desc="quiet") as bar:
        list(bar)
    assert log.getvalue() == ""


def test_silence_reaches_the_libraries(monkeypatch) -> None:
    from datasets.utils import logging as datasets_logging  # imported before, as in train

    monkeypatch.setattr(progress, "_QUIET", False)
    monkeypatch.delenv("HF_DATASETS_DISABLE_PROGRESS_BARS", raising=False)
    monkeypatch.delenv("HF_HUB_DISABLE_PROGRESS_BARS", raising=False)
    progress.silence()
    assert progress.quiet() and os.environ["HF_DATASETS_DISABLE_PROGRESS_BARS"] == "1"
    assert not datasets_logging.is_progress_bar_enabled()
    os.environ.pop("HF_DATASETS_DISABLE_PROGRESS_BARS")
    datasets_logging.enable_progress_bar()


def test_the_tied_head_warning_is_dropped_and_no_other() -> None:
    from agents.train import _quiet_tied_head_warning

    _quiet_tied_head_warning()
    log = logging.getLogger("accelerate.utils.other")
    tied = log.makeRecord(log.name, logging.WARNING, __file__, 1,
                          "Removed shared tensor {'lm_head.weight'} while saving.", (), None)
    other = log.makeRecord(log.name, logging.WARNING, __file__, 1,
                           "Removed shared tensor {'encoder.weight'} while saving.", (), None)
    assert not log.filter(tied) and log.filter(other)


@pytest.mark.slow
def test_a_command_logged_to_a_file_has_no_refresh_lines(tmp_path: Path) -> None:
    """`mm verify` of a whole database through a pipe: whole lines only, no bar refreshes."""
    done = subprocess.run([sys.executable, "-m", "provergym.cli", "mm", "verify",
                           "/usr/share/metamath/databases/hol.mm"], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr and "\r" not in done.stdout
