"""Shared fixtures of the Coq tests. Slow tests drive the real coqidetop and coqc."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def small_v() -> Path:
    return FIXTURES / "small.v"


@pytest.fixture()
def coq() -> None:
    """A missing Coq is a broken install, not a reason to skip: fail loudly."""
    assert shutil.which("coqidetop.opt") and shutil.which("coqc"), \
        "Coq is not installed (make apt installs it)"
