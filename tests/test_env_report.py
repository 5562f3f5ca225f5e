"""``provergym env`` and ``--version``: what a bug report needs, read from the real tools."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from provergym import __version__
from provergym.env_report import collect, format_report

REPO = Path(__file__).resolve().parents[1]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "provergym.cli", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_version_flag() -> None:
    done = _cli("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"provergym {__version__}"


def test_env_reports_the_real_tools() -> None:
    done = _cli("env", "--json")
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    coqc = subprocess.run(["coqc", "--version"], capture_output=True, text=True).stdout
    assert info["coq"] in coqc and info["coq"].startswith("8.16")
    assert info["metamath-exe"] != "missing"
    import torch

    assert info["libraries"]["torch"] == torch.__version__
    assert len(info["set.mm"]["sha256"]) == 16
    assert info["debian"]["libcoq-hammer"] != "missing"
    assert info["commit"]  # a short hash in a checkout


def test_text_report_lists_every_field() -> None:
    info = collect()
    text = format_report(info)
    for key in info:
        assert f"{key}:" in text
