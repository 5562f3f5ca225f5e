"""Proofs in set.mm's own format, and the independent check by metamath-exe.

``compress_proof`` turns a normal (RPN) proof into ``( labels ) LETTERS`` with shared
sub-proofs saved by ``Z``; ``write_database`` writes a copy of a database with new
proofs put in; ``check_with_metamath`` runs ``metamath`` on it and judges the result by
its ``?Error`` lines (its last line says "verified" even after a ``$d`` error).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from provergym.metamath.codec import compressed_code
from provergym.metamath.database import KEYWORD, Database, Statement

LINE_WIDTH = 79
INDENT = " " * 6


class ExportError(Exception):
    pass


def _tree(db: Database, proof: Sequence[str]) -> tuple:
    """Normal proof -> nested tuples ``(label, child, ...)``, interned so that equal
    sub-proofs are the same object."""
    statements = db.statements
    intern: dict[tuple, tuple] = {}
    stack: list[tuple] = []
    for label in proof:
        statement = statements.get(label)
        if statement is None:
            raise ExportError(f"unknown label {label!r} in proof")
        arity = len(statement.hypotheses) if statement.kind in "ap" else 0
        if len(stack) < arity:
            raise ExportError(f"stack underflow at {label}")
        node = (label, *stack[len(stack) - arity:]) if arity else (label,)
        if arity:
            del stack[len(stack) - arity:]
        stack.append(intern.setdefault(node, node))
    if len(stack) != 1:
        raise ExportError(f"the proof leaves {len(stack)} entries on the stack")
    return stack[0]


def compress_proof(db: Database, theorem: Statement | str, proof: Sequence[str]) -> str:
    """The compressed proof text ``( labels ) LETTERS`` (without ``$=``/``$.``)."""
    if isinstance(theorem, str):
        theorem = db.statements[theorem]
    root = _tree(db, proof)
    # How often each distinct sub-proof occurs in the expanded proof.
    occurrences: Counter = Counter()
    stack = [root]
    while stack:
        node = stack.pop()
        occurrences[id(node)] += 1
        stack.extend(node[1:])
    mandatory = list(theorem.hypotheses)
    position = {label: i + 1 for i, label in enumerate(mandatory)}
    usage: Counter = Counter(label for label in proof if label not in position)
    labels = sorted(usage, key=lambda label: -usage[label])
    for i, label in enumerate(labels):
        position[label] = len(mandatory) + i + 1
    first_saved = len(mandatory) + len(labels) + 1
    saved: dict[int, int] = {}
    letters: list[str] = []
    # Post-order emission; a repeated sub-proof (of more than one step) is saved with Z
    # the first time and referred to afterwards.
    work: list[tuple[tuple, bool]] = [(root, False)]
    while work:
        node, expanded = work.pop()
        key = id(node)
        if key in saved:
            letters.append(compressed_code(saved[key]))
            continue
        if not expanded and len(node) > 1:
            work.append((node, True))
            work.extend((child, False) for child in reversed(node[1:]))
            continue
        letters.append(compressed_code(position[node[0]]))
        if len(node) > 1 and occurrences[key] > 1:
            letters.append("Z")
            saved[key] = first_saved + len(saved)
    return _wrap(["(", *labels, ")"], "".join(letters))


def _wrap(words: list[str], letters: str) -> str:
    lines: list[str] = []
    line = INDENT.rstrip()
    for word in words:
        if len(line) + 1 + len(word) > LINE_WIDTH:
            lines.append(line)
            line = INDENT.rstrip()
        line += " " + word
    rest = letters
    room = LINE_WIDTH - len(line) - 1
    if room < 1:
        lines.append(line)
        line, room = INDENT.rstrip(), LINE_WIDTH - len(INDENT)
    line += " " + rest[:room]
    rest = rest[room:]
    while rest:
        lines.append(line)
        chunk = LINE_WIDTH - len(INDENT)
        line, rest = INDENT + rest[:chunk], rest[chunk:]
    if len(line) + 3 > LINE_WIDTH:
        lines.append(line)
        line = INDENT + "$."
    else:
        line += " $."
    lines.append(line)
    return "\n".join(lines)


def _proof_span(text: str, statement: Statement) -> tuple[int, int]:
    """Character range in ``text`` from just after ``$=`` up to and including ``$.``."""
    pos = statement.offset
    equals = None
    while True:
        match = KEYWORD.search(text, pos)
        if match is None:
            raise ExportError(f"{statement.label}: cannot find the end of its proof")
        key = match.group(1)
        if key == "(":
            pos = text.find("$)", match.end()) + 2
            continue
        pos = match.end()
        if key == "=" and equals is None:
            equals = pos
        elif key == ".":
            if equals is None:
                raise ExportError(f"{statement.label}: not a $p with a proof")
            return equals, pos


def write_database(db: Database, proofs: Mapping[str, str], out_dir: str | os.PathLike[str]) -> str:
    """Copy ``db``'s files into ``out_dir`` with the proofs of ``proofs`` (label ->
    compressed proof text ending in ``$.``) put in place; returns the main file's path."""
    out_dir = os.fspath(out_dir)
    base = os.path.dirname(os.path.abspath(db.path))
    by_file: dict[str, list[tuple[int, int, str]]] = {}
    for label, text in proofs.items():
        statement = db.statements.get(label)
        if statement is None or statement.kind != "p":
            raise ExportError(f"{label!r} is not a $p of {db.path}")
        source = db.files[statement.file]
        start, end = _proof_span(source, statement)
        by_file.setdefault(statement.file, []).append((start, end, text))
    main = ""
    for path, source in db.files.items():
        relative = os.path.relpath(os.path.abspath(path), base)
        target = os.path.join(out_dir, relative)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        for start, end, text in sorted(by_file.get(path, []), reverse=True):
            source = source[:start] + "\n" + text + source[end:]
        with open(target, "w", encoding="ascii") as handle:
            handle.write(source)
        if os.path.abspath(path) == os.path.abspath(db.path):
            main = target
    return main


@dataclass(frozen=True)
class MetamathCheck:
    ok: bool
    errors: tuple[str, ...]
    output: str


def metamath_available() -> bool:
    return shutil.which("metamath") is not None


def run_metamath(path: str | os.PathLike[str], commands: Sequence[str],
                 timeout: float) -> tuple[int, str]:
    """Run metamath-exe's ``commands`` on the database at ``path`` (read first, exit last,
    no paging). Returns its exit code and its output; an ExportError past ``timeout``."""
    path = os.path.abspath(os.fspath(path))
    script = ["set scroll continuous", f'read "{os.path.basename(path)}"', *commands,
              "exit /force"]
    try:
        done = subprocess.run(["metamath", *script], cwd=os.path.dirname(path),
                              capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired as error:
        raise ExportError(f"metamath did not finish in {timeout} s on {path}") from error
    return done.returncode, done.stdout + done.stderr


def metamath_reply(output: str, command: str) -> str | None:
    """What metamath-exe printed in reply to ``command`` (up to its next prompt), or None
    when the output does not show the command."""
    parts = output.split(f"MM> {command}\n", 1)
    return parts[1].split("MM>", 1)[0] if len(parts) == 2 else None


def check_with_metamath(path: str | os.PathLike[str], labels: Iterable[str] = ("*",),
                        timeout: float = 300.0) -> MetamathCheck:
    """Run metamath-exe's ``verify proof`` on ``labels`` of the database at ``path``."""
    returncode, output = run_metamath(path, [f"verify proof {label}" for label in labels],
                                      timeout)
    errors = [line for line in output.splitlines() if line.startswith("?")]
    if "read into the source buffer" not in output:
        errors.append(f"metamath could not read {path}")
    # `verify proof LABEL` prints the label when the proof checks and nothing for a label
    # it does not know, so each requested label must be echoed back.
    for label in labels:
        if label == "*":
            if "All proofs in the database were verified" not in output:
                errors.append("metamath did not report verifying every proof")
            continue
        if label not in (metamath_reply(output, f"verify proof {label}") or "").split():
            errors.append(f"metamath did not verify {label}")
    ok = returncode == 0 and not errors
    return MetamathCheck(ok, tuple(errors), output)


_NOT_PROVED = "Warning: The following traced statement(s) were not proved:"


def unproved_dependencies(path: str | os.PathLike[str], labels: Iterable[str],
                          timeout: float = 300.0) -> dict[str, list[str]]:
    """metamath-exe's own account of what each proof rests on: ``show trace_back LABEL``
    for each label of the database at ``path``, and the statements it warns "were not
    proved" (a ``?`` in their proof, or in the proof of one they cite). ``verify proof``
    checks one proof, not what it cites; this is the independent check of that (as Coq's
    ``Print Assumptions`` is for ``Admitted``). Label -> those statements (empty: none)."""
    labels = list(labels)
    if not labels:
        return {}
    _, output = run_metamath(path, [f"show trace_back {label}" for label in labels], timeout)
    found: dict[str, list[str]] = {}
    for label in labels:
        reply = metamath_reply(output, f"show trace_back {label}")
        if reply is None:
            raise ExportError(f"metamath did not trace {label} in {path}")
        if f'"{label}"' not in reply:
            raise ExportError(f"metamath did not trace {label} in {path}: {reply.strip()!r}")
        names = reply.split(_NOT_PROVED, 1)[1].split() if _NOT_PROVED in reply else []
        found[label] = names
    return found


def export_and_check(db: Database, proofs: Mapping[str, Sequence[str]],
                     out_dir: str | os.PathLike[str] | None = None,
                     timeout: float = 300.0) -> tuple[str, MetamathCheck]:
    """Compress ``proofs`` (label -> normal proof), write them into a copy of the database
    and have metamath-exe verify each of them. Returns the copy's path and the check."""
    compressed = {label: compress_proof(db, label, proof) for label, proof in proofs.items()}
    if out_dir is None:
        out_dir = tempfile.mkdtemp(prefix="provergym-export-")
    main = write_database(db, compressed, out_dir)
    return main, check_with_metamath(main, list(proofs) or ["*"], timeout=timeout)

