"""Where things are: the one home of each path that more than one module needs."""

from __future__ import annotations

import os
from pathlib import Path

# Debian's metamath-databases package
METAMATH_DATABASES = Path("/usr/share/metamath/databases")
SET_MM = str(METAMATH_DATABASES / "set.mm")


def provergym_home() -> Path:
    """``$PROVERGYM_HOME`` (corpora, runs, benchmark output), defaulting to
    ``~/.cache/provergym`` when it is unset or empty."""
    return Path(os.environ.get("PROVERGYM_HOME") or Path.home() / ".cache" / "provergym")
