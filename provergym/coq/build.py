"""Compile a Coq project the way its authors do, so its files can be opened and replayed.

``provergym coq build DIR``: a dune project (``dune-project``, with ``dune`` installed) is
built with ``dune build``; a ``_CoqProject`` project with Coq's own ``coq_makefile``, whose
Makefile compiles the files in dependency order (``coqdep``) and skips what is up to date.
Nothing here is hand-written dependency logic. Every build has a time limit, its output
is kept for the error message, and a failure names the file Coq refused.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from provergym.errors import CheckFailed, UserError

MAKEFILE = "CoqMakefile.provergym"  # written beside the _CoqProject, never committed
BUILD_TIMEOUT = 3600.0


@dataclass(frozen=True)
class BuildResult:
    kind: str  # "dune" or "coq_makefile"
    directory: Path
    seconds: float
    output: str


def project_root(path: str | Path) -> tuple[Path, str] | None:
    """The nearest folder at or above ``path`` with a dune project or a ``_CoqProject``,
    and which kind it is; None when there is neither."""
    start = Path(path).resolve()
    for directory in [start, *start.parents] if start.is_dir() else [*start.parents]:
        if (directory / "dune-project").is_file() and shutil.which("dune"):
            return directory, "dune"
        if (directory / "_CoqProject").is_file():
            return directory, "coq_makefile"
    return None


def build_project(path: str | Path, jobs: int = 2,
                  timeout: float = BUILD_TIMEOUT) -> BuildResult:
    """Build the project at or above ``path``; UserError if there is none, CheckFailed (with
    the file and Coq's message) if it does not compile."""
    import time

    found = project_root(path)
    if found is None:
        raise UserError(f"{path}: no _CoqProject (or dune-project, with dune installed) here "
                        "or above: write a _CoqProject (for example `-Q . MyLib` and the "
                        "file names) or pass -Q/-R to the command that opens the files")
    directory, kind = found
    if kind == "dune":
        commands = [["dune", "build", f"-j{jobs}"]]
    else:
        commands = [["coq_makefile", "-f", "_CoqProject", "-o", MAKEFILE],
                    ["make", "-f", MAKEFILE, f"-j{jobs}"]]
    start = time.perf_counter()
    output = []
    for command in commands:
        try:
            done = subprocess.run(command, cwd=directory, capture_output=True, text=True,
                                  timeout=timeout, stdin=subprocess.DEVNULL,
                                  env={**os.environ, "COQMF_QUIET": "1"})
        except FileNotFoundError as error:
            raise UserError(f"{command[0]} is not installed ({error})") from None
        except subprocess.TimeoutExpired:
            raise CheckFailed(f"{directory}: `{' '.join(command)}` ran past {timeout:.0f} s"
                              ) from None
        output.append(done.stdout + done.stderr)
        if done.returncode != 0:
            text = (done.stdout + done.stderr).strip()
            where = re.search(r'File "([^"]+)", line (\d+)', text)
            place = f"{directory / where.group(1)}:{where.group(2)}: " if where else ""
            raise CheckFailed(f"{directory}: `{' '.join(command)}` failed: {place}"
                              f"{text[-800:]}")
    return BuildResult(kind, directory, time.perf_counter() - start, "".join(output))


def missing_library_hint(message: str, path: str | Path) -> str:
    """A hint to append when Coq cannot find a library the file requires: build the
    project (when there is one) or pass its load path."""
    if "Cannot find a physical path" not in message and "Unable to locate library" not in \
            message and "Cannot load" not in message:
        return ""
    found = project_root(path)
    if found is not None:
        return (f" (the project's other files are not compiled: run `provergym coq build "
                f"{found[0]}` first)")
    return " (pass the library's load path with -Q DIR LIB or -R DIR LIB)"
