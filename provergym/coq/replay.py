"""Replay a ``.v`` file sentence by sentence and record every tactic with the goals around it.

One Add + Goal per sentence (Goal is what executes it), so the goals after a sentence are
the goals before the next one, at no extra cost. With ``printing_all`` each proof state is
printed a second time under ``Set Printing All`` for the term grammar.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provergym import progress as progress_bars
from provergym.api import Goal, ProverError
from provergym.coq.env import (
    anonymous_name,
    find_coq_args,
    make_goals,
    scope_closing,
    scope_opening,
    statement_name,
)
from provergym.coq.sentences import SentenceError, line_col, split_sentences
from provergym.coq.session import CoqSession, Failed
from provergym.coq.tactics import check_tactic
from provergym.errors import UserError


@dataclass(frozen=True)
class TacticRecord:
    """One tactic of a proof: the state before, the tactic, the state after."""

    file: str
    lemma: str
    line: int
    tactic: str
    goals_before: tuple[Goal, ...]
    goals_after: tuple[Goal, ...]
    steps_left: int  # tactics that follow this one in the same proof


@dataclass(frozen=True)
class ReplayResult:
    file: str
    sentences: int
    lemmas: int
    records: tuple[TacticRecord, ...]
    seconds: float
    error: str | None = None  # file:line: message of the sentence that failed, if one did
    ast_parsed: int = 0
    ast_failed: int = 0
    ast_failures: tuple[str, ...] = field(default=(), repr=False)  # a sample, for the report


class ReplayError(UserError):
    """The file could not be read (bad path, not UTF-8, unsplittable text): exit 2."""


def _ast_counts(goals: Iterable[Goal]) -> tuple[int, int, list[str]]:
    parsed = failed = 0
    failures: list[str] = []
    for goal in goals:
        data = goal.data
        if data is None or data.printing_all is None:
            continue
        if data.ast is not None:
            parsed += 1
        else:
            failed += 1
            failures.append(f"{data.ast_error}: {data.printing_all.conclusion[:200]}")
    return parsed, failed, failures


def replay_file(path: str | Path, coq_args: Sequence[str] = (), *, printing_all: bool = False,
                progress: bool = True, sentence_timeout: float = 600.0) -> ReplayResult:
    """Replay ``path`` from the start; stop at the first sentence Coq refuses. A file that
    ends inside a proof, a section or a module fails as ``coqc`` fails on it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        sentences = split_sentences(text)
    except (OSError, UnicodeDecodeError, SentenceError) as error:
        raise ReplayError(f"{path}: {error}") from error
    project_args, cwd = find_coq_args(path.resolve())
    records: list[TacticRecord] = []
    lemmas = 0
    error: str | None = None
    ast_parsed = ast_failed = 0
    ast_failures: list[str] = []
    start = time.perf_counter()
    with CoqSession([*project_args, *coq_args], cwd=str(cwd),
                    reply_timeout=sentence_timeout) as session:
        node = CoqSession.ROOT
        before: tuple[Goal, ...] | None = None
        lemma, proof_start = "", 0
        scopes: list[tuple[str, str]] = []  # sections and modules still open
        for sentence in progress_bars.bar(sentences, desc=path.name, unit="sent",
                                          enabled=progress, leave=False):
            try:
                result = session.run(node, sentence.text)
            except ProverError as failure:
                result = Failed(f"{type(failure).__name__}: {failure}")
            if isinstance(result, Failed):
                line, column = line_col(text, sentence.start)
                from provergym.coq.build import missing_library_hint

                error = (f"{path}:{line}:{column}: {result.message}"
                         f"{missing_library_hint(result.message, path)}")
                break
            node = result.node
            opened, closed = scope_opening(sentence.text), scope_closing(sentence.text)
            if opened:
                scopes.append(opened)
            elif closed and any(name == closed for _, name in scopes):
                while scopes.pop()[1] != closed:
                    pass
            after = None
            if result.goals is not None:
                reply_all = session.goals(node, printing_all=True) if printing_all else None
                after = make_goals(result.goals, reply_all)
                parsed, failed, failures = _ast_counts(after)
                ast_parsed, ast_failed = ast_parsed + parsed, ast_failed + failed
                ast_failures.extend(failures[: max(0, 50 - len(ast_failures))])
            if before is None and after is not None:  # a proof begins
                lemmas += 1
                line, _ = line_col(text, sentence.start)
                lemma = statement_name(sentence.text) or anonymous_name(line)
                proof_start = len(records)
            elif before is not None and after is not None and check_tactic(sentence.text).ok:
                line, _ = line_col(text, sentence.start)
                records.append(TacticRecord(str(path), lemma, line, sentence.text, before,
                                            after, 0))
            elif before is not None and after is None:  # the proof ended: count down
                proof = records[proof_start:]
                records[proof_start:] = [dataclasses.replace(r, steps_left=len(proof) - 1 - i)
                                         for i, r in enumerate(proof)]
            before = after
        if error is None and before is not None:
            error = (f"{path}: the file ends inside the proof of {lemma} "
                     "(coqc: There are pending proofs)")
        elif error is None and scopes:
            kind, name = scopes[-1]
            error = f"{path}: the file ends inside {kind} {name} (coqc: it needs to be closed)"
    seconds = time.perf_counter() - start
    return ReplayResult(str(path), len(sentences), lemmas, tuple(records), seconds, error,
                        ast_parsed, ast_failed, tuple(ast_failures))


def goal_to_json(goal: Goal) -> dict[str, Any]:
    data = goal.data
    entry: dict[str, Any] = {
        "hypotheses": [{"name": h.name, "type": h.type, "body": h.body} for h in goal.hypotheses],
        "conclusion": goal.conclusion,
    }
    if data is not None and data.printing_all is not None:
        entry["printing_all"] = {
            "hypotheses": [{"name": h.name, "type": h.type, "body": h.body}
                           for h in data.printing_all.hypotheses],
            "conclusion": data.printing_all.conclusion,
        }
    return entry


def record_to_json(record: TacticRecord) -> dict[str, Any]:
    return {
        "file": record.file, "lemma": record.lemma, "line": record.line,
        "tactic": record.tactic, "steps_left": record.steps_left,
        "goals_before": [goal_to_json(g) for g in record.goals_before],
        "goals_after": [goal_to_json(g) for g in record.goals_after],
    }


def write_jsonl(records: Iterable[TacticRecord], out: str | Path) -> int:
    """One JSON object per tactic; returns how many were written."""
    count = 0
    with open(out, "w", encoding="utf-8") as stream:
        for record in records:
            stream.write(json.dumps(record_to_json(record), ensure_ascii=False) + "\n")
            count += 1
    return count
