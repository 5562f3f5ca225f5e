"""Checking a whole database: every proof, with worker processes, or while it is parsed.

:func:`verify_database` checks the proofs of a parsed database, in chunks spread over
supervised workers (:func:`provergym.workers.supervised`) forked after the parse, so they
share it. :func:`parse_and_verify` with two jobs overlaps the two: workers forked during
the parse check the theorems parsed so far (see :class:`_Relay`). Either way a rejected
proof is reported as a :class:`Failure` with the kernel's message, and a worker that dies
costs nothing but time: its theorems are checked again here.
"""

from __future__ import annotations

import gc
import mmap
import os
import pickle
import select
import signal
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from provergym.metamath.codec import decoding_tables
from provergym.metamath.database import Database, Statement
from provergym.metamath.kernel import IncompleteProof, Kernel, ProofError
from provergym.workers import supervised


@dataclass(frozen=True)
class Failure:
    """A proof that does not check: where it is and the kernel's reason."""

    label: str
    line: int
    reason: str
    incomplete: bool = False
    file: str = ""


@dataclass(frozen=True)
class VerifyReport:
    """What checking a database found: how many proofs, which failed, how long it took."""

    checked: int
    failures: tuple[Failure, ...]
    seconds: float

    @property
    def errors(self) -> list[Failure]:
        return [f for f in self.failures if not f.incomplete]

    @property
    def incomplete(self) -> list[Failure]:
        return [f for f in self.failures if f.incomplete]


CLAIM_BLOCK = 16  # early theorems claimed at a time while verifying during the parse


def _check_many(db: Database, labels: Iterable[str], kernel: Kernel | None = None
                ) -> list[Failure]:
    """The failures among the proofs of ``labels``, checked here with ``kernel``."""
    kernel = kernel or Kernel(db)
    failures = []
    for label, error in kernel.verify_many(list(labels)):
        if error is None:
            continue
        if isinstance(error, ProofError):
            failures.append(_failure(db, label, str(error), isinstance(error, IncompleteProof)))
        else:  # a kernel bug must still never pass a proof
            failures.append(_failure(db, label, f"internal error: {error!r}", False))
    return failures


def _failure(db: Database, label: str, reason: str, incomplete: bool) -> Failure:
    statement = db.statements[label]
    return Failure(label, db.line_of(statement), reason, incomplete, statement.file)


# Set in the parent before forking, so workers inherit the parsed database for free.
_SHARED_DB: Database | None = None


_WORKER_KERNEL: Kernel | None = None  # one per worker process: frames compiled once


def _worker(labels: list[str]) -> tuple[int, list[Failure]]:
    global _WORKER_KERNEL
    gc.disable()
    assert _SHARED_DB is not None
    if _WORKER_KERNEL is None or _WORKER_KERNEL.db is not _SHARED_DB:
        _WORKER_KERNEL = Kernel(_SHARED_DB)
    return len(labels), _check_many(_SHARED_DB, labels, _WORKER_KERNEL)


def verify_database(db: Database, labels: Sequence[str] | None = None, jobs: int = 1,
                    progress: bool = False) -> VerifyReport:
    """Check the proofs of ``labels`` (default: every ``$p``) with ``jobs`` processes
    (forked after parsing, so they share the database). ``progress`` shows a tqdm bar on
    a terminal."""
    global _SHARED_DB
    start = time.perf_counter()
    if labels is None:
        labels = [s.label for s in db.statements.values() if s.kind == "p"]
    labels = list(labels)
    enabled = gc.isenabled()
    gc.disable()  # millions of objects and no cycles: the collector only costs time
    try:
        if jobs <= 1 or len(labels) < 200 or not hasattr(os, "fork"):
            failures = _check_many(db, labels)
        else:
            failures = _check_parallel(db, labels, jobs, progress)
    finally:
        _SHARED_DB = None
        if enabled:
            gc.enable()
    return VerifyReport(len(labels), tuple(failures), time.perf_counter() - start)


def _check_parallel(db: Database, labels: list[str], jobs: int,
                    progress: bool) -> list[Failure]:
    global _SHARED_DB
    from provergym.progress import bar as progress_bar

    def lost(chunk: list[str], status: str, message: str) -> tuple[int, list[Failure]]:
        # Its worker died (or a bug raised): check its theorems here, never pass them.
        return len(chunk), _check_many(db, chunk)

    _SHARED_DB = db
    gc.freeze()  # keep the inherited pages shared: no refcount-free gc walks
    try:
        # Interleaved chunks balance the load (late theorems have longer proofs); many
        # small ones keep both workers busy to the end.
        n_chunks = jobs * 16
        chunks = [labels[i::n_chunks] for i in range(n_chunks)]
        failures: list[Failure] = []
        with progress_bar(total=len(labels), unit="proof", enabled=progress,
                          leave=False) as bar:
            for done, part in supervised(_worker, chunks, jobs, None, lost):
                failures += part
                bar.update(done)
    finally:
        gc.unfreeze()
    order = {label: i for i, label in enumerate(labels)}
    failures.sort(key=lambda f: order[f.label])
    return failures


# -- verifying while parsing ---------------------------------------------------------------
MIN_EARLY_THEOREMS = 200  # fewer theorems are not worth a fork


def parse_and_verify(path: str | os.PathLike[str], jobs: int = 1, progress: bool = False
                     ) -> tuple[Database, VerifyReport, float]:
    """Parse ``path`` and check every proof; return the database, the report and the
    seconds spent parsing. Raises :class:`~provergym.metamath.database.MetamathError` like
    :func:`~provergym.metamath.database.parse_database`.

    With ``jobs == 2`` the two overlap, as a relay: while this process parses, a worker
    forked at a checkpoint checks the theorems parsed so far (a proof cites only earlier
    statements, so the half-parsed database it inherits is enough); when it is done, the
    next one is forked for the theorems parsed since. Each takes about six times as long
    to check as to parse, so there are a few workers, and the second core is busy from
    the first checkpoint with MIN_EARLY_THEOREMS theorems on. After the parse, this
    process checks the theorems no worker took while the last worker runs on; once that
    worker is done, one more is forked for what is left of them, inheriting this process's
    compiled frames (see :meth:`_Relay.finish`). Two processes that share theorems take
    them from opposite ends, and a flag per theorem, in shared memory, makes them stop
    where they meet. A theorem a worker
    rejects is checked again here, with the whole database, for the exact message. With
    ``jobs > 2`` (or 1) the proofs are checked after the parse by :func:`verify_database`
    (``progress`` is its tqdm bar; the overlapped run shows none).
    """
    from provergym.metamath.database import parse_database

    start = time.perf_counter()
    if jobs != 2 or not hasattr(os, "fork"):
        db = parse_database(path)
        parsed = time.perf_counter()
        return db, verify_database(db, jobs=jobs, progress=progress), parsed - start
    enabled = gc.isenabled()
    gc.disable()  # millions of objects and no cycles: the collector only costs time
    relay = _Relay()
    try:
        db = parse_database(path, relay.checkpoint)
        parsed = time.perf_counter()
        failures = relay.finish(db)
    finally:
        relay.abandon()
        if enabled:
            gc.enable()
    report = VerifyReport(len(db.theorems()), tuple(failures), time.perf_counter() - parsed)
    return db, report, parsed - start


class _Worker(NamedTuple):
    pid: int
    read_end: int  # where its rejected labels come from
    labels: list[str]  # its theorems
    claimed: mmap.mmap  # one byte per theorem, shared: 1 once some process took it


class _Relay:
    """The workers of :func:`parse_and_verify` with two jobs: one at a time, each forked
    for the theorems parsed since the previous one was forked."""

    def __init__(self) -> None:
        self.handed = 0  # theorems (in parse order) handed to workers so far
        self.worker: _Worker | None = None  # the one running now
        self.rejected: set[str] = set()  # rejected by the workers done so far
        self.died: list[str] = []  # the theorems of workers that died: checked here

    @property
    def pid(self) -> int | None:
        return self.worker.pid if self.worker else None

    def _done(self) -> bool:
        """Whether the running worker has finished (it writes at the end, or dies)."""
        assert self.worker is not None
        return bool(select.select([self.worker.read_end], [], [], 0)[0])

    def checkpoint(self, db: Database, theorems: list[Statement], done: int,
                   total: int) -> None:
        if self.worker is not None:
            if not self._done():
                return
            self._collect()
        if len(theorems) - self.handed >= MIN_EARLY_THEOREMS:
            labels = [t.label for t in theorems[self.handed:]]
            self.handed = len(theorems)
            decoding_tables()  # imported once here, not once per worker
            self._fork(db, labels)

    def _fork(self, db: Database, labels: list[str], kernel: Kernel | None = None) -> None:
        """Start a worker for ``labels``, from the last one backwards; it inherits
        ``kernel``'s compiled frames."""
        claimed = mmap.mmap(-1, len(labels))  # shared with the worker
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker: check, send the failures, exit without cleanup
            code = 1
            try:
                os.close(read_end)
                failures = _check_claimed(db, labels, reversed(range(len(labels))), claimed,
                                          kernel)
                with os.fdopen(write_end, "wb") as pipe:
                    pickle.dump([f.label for f in failures], pipe)
                code = 0
            finally:
                os._exit(code)
        os.close(write_end)
        self.worker = _Worker(pid, read_end, labels, claimed)

    def _collect(self) -> None:
        """Read what the running worker rejected, and reap it."""
        worker, self.worker = self.worker, None
        assert worker is not None
        with os.fdopen(worker.read_end, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(worker.pid, 0)
        if status == 0 and data:
            self.rejected.update(pickle.loads(data))
        else:  # it died: check everything it took here
            self.died += worker.labels

    def finish(self, db: Database) -> list[Failure]:
        """After the parse: check the theorems no worker took, while the running worker
        (if any) goes on; once it is done, one last worker is forked for what is left of
        them, with this process's compiled frames, and the two take them from opposite
        ends. If they run out first, this process takes the running worker's theorems
        from the front instead. Two processes all along, and they stop together."""
        kernel = Kernel(db)
        theorems = db.theorems()
        late = [t.label for t in theorems[self.handed:]]
        failures: list[Failure] = []
        done = 0
        while self.worker is not None and done < len(late):
            if self._done():
                self._collect()
                break
            failures += _check_many(db, late[done:done + CLAIM_BLOCK], kernel)
            done += CLAIM_BLOCK
        late = late[done:]
        if self.worker is None and len(late) >= MIN_EARLY_THEOREMS:
            self.handed = len(theorems)
            self._fork(db, late, kernel)
            late = []
        failures += _check_many(db, late, kernel)
        if self.worker is not None:
            worker = self.worker
            failures += _check_claimed(db, worker.labels, range(len(worker.labels)),
                                       worker.claimed, kernel)
            self._collect()
        mine = {f.label for f in failures}
        # A worker's database ended where it forked: messages come from the whole one.
        redo = [t.label for t in theorems[:self.handed]
                if (t.label in self.rejected or t.label in self.died) and t.label not in mine]
        failures += _check_many(db, redo, kernel)
        failures.sort(key=lambda f: db.statements[f.label].index)
        return failures

    def abandon(self) -> None:
        """Stop a worker still running (the parse failed, or an interrupt)."""
        worker, self.worker = self.worker, None
        if worker is not None:
            try:
                os.kill(worker.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(worker.pid, 0)
            os.close(worker.read_end)


def _check_claimed(db: Database, labels: list[str], order: Iterable[int], claimed: mmap.mmap,
                   kernel: Kernel | None = None) -> list[Failure]:
    """Check ``labels`` in ``order`` until one is already claimed by the other process.
    A label is claimed before it is checked, so each is checked at least once (twice at
    most, where both processes claim it at the same moment)."""
    kernel = kernel or Kernel(db)
    failures: list[Failure] = []
    block: list[str] = []  # claimed, checked together (one decoding pass)
    for i in order:
        if claimed[i]:
            break
        claimed[i] = 1
        block.append(labels[i])
        if len(block) == CLAIM_BLOCK:
            failures += _check_many(db, block, kernel)
            block = []
    return failures + _check_many(db, block, kernel)
