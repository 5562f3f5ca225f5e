"""Shared fixtures of the Metamath tests: the Debian databases, a real excerpt of set.mm
to corrupt, and runners for our CLI and for metamath-exe (the independent oracle)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

DATABASES = Path("/usr/share/metamath/databases")
FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]

# set.mm up to the end of the block of eximdv (line 25960 of the 2021-01-01 copy): the
# propositional calculus, the first predicate-calculus axioms, and small theorems with $d
# (ax5e, nfv, nfvd, alimdv, eximdv) whose proofs need those $d.
EXCERPT_END = "eximdv $p |- ( ph -> ( E. x ps -> E. x ch ) ) $=\n      ( ax-5 eximdh ) ABCDADFEG $.\n  $}\n"


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


@pytest.fixture(scope="session")
def set_mm_excerpt_text() -> str:
    text = (DATABASES / "set.mm").read_text(encoding="ascii")
    end = text.index(EXCERPT_END) + len(EXCERPT_END)
    # metamath-exe reads "$( Begin $[ file $] $)" comments as markup for split files, and
    # the excerpt has no matching End: make them plain comments.
    return text[:end].replace("$( Begin $[", "$( Begin [").replace("$( End $[", "$( End [")


@pytest.fixture()
def excerpt(tmp_path: Path, set_mm_excerpt_text: str):
    """Write the set.mm excerpt, after ``edit(text) -> text``, to a fresh file."""
    def write(edit=lambda text: text, name: str = "excerpt.mm") -> Path:
        path = tmp_path / name
        path.write_text(edit(set_mm_excerpt_text), encoding="ascii")
        return path
    return write


def replace_once(text: str, old: str, new: str) -> str:
    """``text`` with its only occurrence of ``old`` replaced (fails if not exactly one)."""
    assert text.count(old) == 1, f"expected exactly one {old!r}"
    return text.replace(old, new)


def run_cli(*args: str, cwd: Path | None = None) -> Run:
    """Run ``provergym`` as a user would, in a fresh interpreter."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-m", "provergym.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    return Run(done.returncode, done.stdout, done.stderr)


def metamath_errors(path: Path) -> list[str]:
    """metamath-exe's ``?Error`` lines for ``verify proof *`` on ``path`` (its last line
    says "verified" even after a $d error, so the error lines are what counts)."""
    exe = shutil.which("metamath")
    assert exe, "metamath-exe is not installed (make install)"
    done = subprocess.run([exe, f"read {path.name}", "verify proof *", "exit"],
                          cwd=path.parent, capture_output=True, text=True, timeout=300)
    return [line for line in done.stdout.splitlines() if line.startswith("?Error")]
