"""metamath-exe's ``improve`` as a baseline prover.

For each theorem, in one metamath-exe session per batch (reading the database once):
``prove LABEL``, ``delete all``, ``improve all /3 /depth 1`` (by default), then
``show new_proof /normal``, and ``exit /force``. A proof with no ``?`` left is a candidate;
the Proof Assistant does not check ``$d`` while it searches, so every candidate must still
pass our kernel and metamath-exe's ``verify proof`` (the runner does both) before it counts.
Each theorem gets at most ``seconds_per_theorem`` of wall time: the batch's output is read
as it comes, and when one theorem runs past its time the batch is killed (its whole
process group); that theorem counts as a failure and the rest go into a new batch.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

DEFAULT_OPTIONS = "/3 /depth 1"


@dataclass(frozen=True)
class ImproveOutcome:
    theorem: str
    proof: str | None  # normal proof (labels separated by blanks), None if not found
    seconds: float  # the batch's wall time shared among its theorems
    message: str


def _script(db_name: str, theorems: Sequence[str], options: str, search_limit: int) -> list[str]:
    commands = ["set scroll continuous", "set width 9999", f'read "{db_name}"',
                f"set search_limit {search_limit}"]
    for label in theorems:
        commands += [f"prove {label}", "delete all", f"improve all {options}",
                     "show new_proof /normal", "exit /force"]
    commands.append("exit /force")
    return commands


def parse_improve_output(output: str, theorems: Sequence[str]) -> dict[str, str | None]:
    """theorem -> normal proof or None, for each theorem whose ``show new_proof`` finished."""
    found: dict[str, str | None] = {}
    for label in theorems:
        head = f'Proof of "{label}":'
        if head not in output:
            continue
        section = output.split(head, 1)[1]
        end = section.find(f'---------The proof of "{label}"')
        if end < 0:
            continue  # cut off mid-way
        lines = section[:end].splitlines()
        body = [line for line in lines if not line.startswith("---------")]
        tokens = " ".join(body).split()
        if tokens and tokens[-1] == "$.":
            tokens = tokens[:-1]
        found[label] = None if (not tokens or "?" in tokens) else " ".join(tokens)
    return found


def _run_batch(path: Path, chunk: Sequence[str], options: str, search_limit: int,
               seconds_per_theorem: float, read_seconds: float) -> tuple[str, bool, float]:
    """Run one batch; kill it when one theorem runs past its time. Returns the output,
    whether it was killed, and the wall time."""
    started = time.perf_counter()
    process = subprocess.Popen(
        ["metamath", *_script(path.name, chunk, options, search_limit)], cwd=str(path.parent),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True)
    chunks: list[bytes] = []
    current, since = None, started + read_seconds  # reading the database has its own time
    killed = False
    try:
        assert process.stdout is not None
        descriptor = process.stdout.fileno()
        while True:
            ready, _, _ = select.select([descriptor], [], [], 0.2)
            if ready:
                data = os.read(descriptor, 65536)
                if not data:
                    break
                chunks.append(data)
                tail = b"".join(chunks[-2:]).decode("utf-8", "replace")
                started_label = tail.rsplit("MM> prove ", 1)
                if len(started_label) == 2:
                    label = started_label[1].split("\n", 1)[0].strip()
                    if label != current:
                        current, since = label, time.perf_counter()
            if time.perf_counter() - since > seconds_per_theorem:
                killed = True
                break
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # no orphans
        process.wait()
    return b"".join(chunks).decode("utf-8", "replace"), killed, time.perf_counter() - started


def run_improve(db_path: str | os.PathLike[str], theorems: Sequence[str], *,
                options: str = DEFAULT_OPTIONS, search_limit: int = 20000,
                seconds_per_theorem: float = 20.0, batch: int = 25,
                read_seconds: float = 30.0) -> list[ImproveOutcome]:
    """Run ``improve`` on ``theorems`` (in batches); one outcome per theorem, in order.
    A theorem gets at most ``seconds_per_theorem`` of wall time."""
    path = Path(db_path).resolve()
    pending = list(theorems)
    outcomes: dict[str, ImproveOutcome] = {}
    while pending:
        chunk, pending = pending[:batch], pending[batch:]
        output, timed_out, elapsed = _run_batch(path, chunk, options, search_limit,
                                                seconds_per_theorem, read_seconds)
        found = parse_improve_output(output, chunk)
        share = elapsed / max(1, len(found) + (1 if timed_out else 0))
        for label in chunk:
            if label in found:
                proof = found[label]
                outcomes[label] = ImproveOutcome(label, proof, share,
                                                 "found" if proof else "no proof found")
        if timed_out:
            rest = [label for label in chunk if label not in found]
            if rest:  # the first unfinished one was running when the batch was killed
                outcomes[rest[0]] = ImproveOutcome(
                    rest[0], None, seconds_per_theorem,
                    f"no proof in the time limit ({seconds_per_theorem:g} s)")
                pending = rest[1:] + pending
        else:
            # A label metamath-exe refused makes the next "exit /force" leave metamath-exe
            # itself: the labels it never reached are tried again in a new batch.
            unreached = [label for label in chunk if label not in outcomes
                         and f"MM> prove {label}\n" not in output]
            if unreached and unreached[0] != chunk[0]:
                pending = unreached + pending
            for label in chunk:
                if label not in outcomes and label not in pending:
                    reply = output.split(f"MM> prove {label}\n", 1)[-1].split("MM>", 1)[0]
                    message = next((line for line in reply.splitlines() if line.startswith("?")),
                                   "metamath-exe gave no proof")
                    outcomes[label] = ImproveOutcome(label, None, share, message)
    return [outcomes[label] for label in theorems]
