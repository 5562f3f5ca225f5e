"""``provergym env``: the versions and paths that matter for a bug report, in one block.

provergym (and its git commit when run from a checkout), Python, the provers (Coq,
metamath-exe, CoqHammer and its ATPs), the Python libraries, set.mm's path and hash,
``$PROVERGYM_HOME``, the CPU count and any GPU. Each probe has a short timeout and reports
``missing`` instead of failing: the report is most useful exactly when something is
broken.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

from provergym import __version__
from provergym.paths import SET_MM, provergym_home

LIBRARIES = ("torch", "transformers", "datasets", "accelerate", "tokenizers", "lark",
             "sexpdata", "gymnasium", "ray", "scikit-learn", "numpy")
DEBIAN = ("coq", "libcoq-hammer", "libcoq-mathcomp-ssreflect", "metamath",
          "metamath-databases", "eprover", "cvc4", "z3")
MISSING = "missing"


def _run(command: list[str], timeout: float = 10.0) -> str | None:
    if shutil.which(command[0]) is None:
        return None
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (done.stdout or done.stderr).strip()


def _git_commit() -> str | None:
    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        return None
    commit = _run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"])
    if not commit:
        return None
    dirty = _run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"])
    return commit + ("+changes" if dirty else "")


def _coq() -> str:
    text = _run(["coqc", "--version"])
    match = re.search(r"version (\S+)", text or "")
    return match.group(1) if match else MISSING


def _metamath() -> str:
    text = _run(["metamath", "exit"])
    match = re.search(r"Version (\S+)", text or "")
    return match.group(1) if match else MISSING


def _debian(package: str) -> str:
    text = _run(["dpkg-query", "-W", "-f=${Version}", package])
    return text if text and "no packages" not in text.lower() else MISSING


def _library(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return MISSING


def _file_hash(path: str) -> str:
    try:
        digest = hashlib.sha256()
        with open(path, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return MISSING
    return digest.hexdigest()[:16]


def _gpus() -> list[str]:
    try:
        import torch
    except ImportError:
        return []
    if not torch.cuda.is_available():
        return []
    return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]


def collect() -> dict[str, object]:
    """Everything the report shows, as plain data."""
    return {
        "provergym": __version__,
        "commit": _git_commit() or "not a git checkout",
        "python": platform.python_version(),
        "platform": platform.platform(),
        "coq": _coq(),
        "metamath-exe": _metamath(),
        "debian": {package: _debian(package) for package in DEBIAN},
        "libraries": {name: _library(name) for name in LIBRARIES},
        "set.mm": {"path": SET_MM, "sha256": _file_hash(SET_MM)},
        "PROVERGYM_HOME": str(provergym_home()),
        "cpus": os.cpu_count(),
        "gpus": _gpus() or "none",
    }


def format_report(info: dict[str, object]) -> str:
    lines = []
    for key, value in info.items():
        if isinstance(value, dict):
            lines.append(f"{key}:")
            lines.extend(f"  {name}: {item}" for name, item in value.items())
        else:
            lines.append(f"{key}: {', '.join(value) if isinstance(value, list) else value}")
    return "\n".join(lines)


def cmd_env(args: argparse.Namespace) -> int:
    info = collect()
    print(json.dumps(info, indent=1) if args.json else format_report(info))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    env = subparsers.add_parser(
        "env", help="versions of provergym, the provers and libraries, set.mm's hash, GPUs",
        description="Print what a bug report needs: the versions of provergym (and its git "
                    "commit), Python, Coq, metamath-exe, CoqHammer and the ATPs, torch, "
                    "transformers and datasets, set.mm's path and hash, PROVERGYM_HOME, "
                    "and any GPU. A missing piece is shown as 'missing'.")
    env.add_argument("--json", action="store_true", help="print JSON instead of text")
    env.set_defaults(func=cmd_env)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(cmd_env(argparse.Namespace(json="--json" in sys.argv)))
