"""Shared fixtures of the Coq tests. Slow tests drive the real coqidetop and coqc."""

from __future__ import annotations

import shutil
from pathlib import Path

import psutil
import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def small_v() -> Path:
    return FIXTURES / "small.v"


@pytest.fixture()
def no_leftover_coq():
    """Fail a test that leaves coqidetop or coqc processes of its own behind."""
    def ours() -> set[int]:
        me = psutil.Process()
        return {p.pid for p in me.children(recursive=True)
                if p.name().startswith(("coqidetop", "coqc"))}
    before = ours()
    yield
    left = ours() - before
    assert not left, f"processes left behind: {left}"


@pytest.fixture()
def coq() -> None:
    """A missing Coq is a broken install, not a reason to skip: fail loudly."""
    assert shutil.which("coqidetop.opt") and shutil.which("coqc"), \
        "Coq is not installed (make apt installs it)"
