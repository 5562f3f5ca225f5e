"""The one worker pool: ``function(task)`` for every task, in supervised forked workers.

Workers are forked, so they inherit what the caller set up before the call (a parsed
database, module globals); call ``gc.freeze()`` first to keep those pages shared. A task
still running ``limit`` seconds after it started is killed with its worker, and a worker
that dies (killed for memory, say) takes only its own task down: either way the task is
*lost*, reported through ``lost``, and a fresh worker takes the next task. (A plain
``multiprocessing`` pool waits forever for the result of a worker that died.) Stopping
early, by Ctrl-C or by leaving the loop over the results, kills the workers at once.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

Task = TypeVar("Task")
Result = TypeVar("Result")

# How a task was lost; the same words as provergym.search.result's stop reasons.
TIMEOUT = "timeout"  # killed at its time limit
ERROR = "error"  # its worker died, or it raised


class TaskLost(Exception):
    """A task that no worker finished, raised where no ``lost`` was given."""

    def __init__(self, task: Any, status: str, message: str):
        super().__init__(f"{status}: {message}")
        self.task, self.status, self.message = task, status, message


RAISE: Any = object()  # the default ``lost``: raise TaskLost

# pebble's pool threads poll every CONSTS.sleep_unit seconds (0.1 by default), and joining a
# pool waits out a poll: 0.1 s per pool, 3% of checking set.mm. At 0.02 joining takes about
# 0.02 s and the idle parent wakes 100 times a second. It is also how late a timeout shows.
POLL_SECONDS = 0.02


def overran(limit: float) -> str:
    """The message of a task killed at its time limit (the local pool's and Ray's)."""
    return f"killed after {limit:g} s: it overran its time limit (a hang or one overlong call)"


def supervised(function: Callable[[Task], Result], tasks: Iterable[Task], jobs: int,
               limit: float | None = None,
               lost: Callable[[Task, str, str], Result] | Result = RAISE,
               initializer: Callable[[], object] | None = None, *,
               ordered: bool = False) -> Iterator[Result]:
    """``function(task)`` for every task in ``jobs`` forked workers; yields each result as
    it comes (``ordered``: in the order of ``tasks``).

    ``limit`` is the seconds a task may run (``None``: no limit). A lost task yields
    ``lost(task, status, message)`` if ``lost`` is callable, ``lost`` itself if it is any
    other value, and raises :class:`TaskLost` if it is not given. ``status`` is
    :data:`TIMEOUT` for a task killed at its limit, :data:`ERROR` for a worker that died or
    a task that raised; ``message`` says which. ``initializer()`` runs once in each worker
    before its first task. ``function``, the tasks and the results cross process
    boundaries pickled (``function`` by name)."""
    from concurrent.futures import TimeoutError as TaskTimeout
    from concurrent.futures import as_completed

    import pebble.common
    from pebble import ProcessExpired, ProcessPool

    pebble.common.CONSTS.sleep_unit = POLL_SECONDS
    tasks = list(tasks)
    if not tasks:
        return
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, not {jobs}")
    pool = ProcessPool(max_workers=jobs, initializer=initializer,
                       context=multiprocessing.get_context("fork"))
    finished = False
    try:
        futures = {pool.schedule(function, args=(task,), timeout=limit): task for task in tasks}
        for future in (futures if ordered else as_completed(futures)):
            task = futures[future]
            try:
                result = future.result()
            except TaskTimeout:
                status, message = TIMEOUT, overran(limit)
            except ProcessExpired as error:
                status, message = ERROR, (f"the worker process died (exit code "
                                          f"{error.exitcode}"
                                          f"{'; out of memory?' if error.exitcode == -9 else ''})")
            except Exception as error:  # noqa: BLE001 - one task's failure is reported
                status, message = ERROR, f"{type(error).__name__}: {error}"
            else:
                yield result
                continue
            if lost is RAISE:
                raise TaskLost(task, status, message)
            yield lost(task, status, message) if callable(lost) else lost
        finished = True
    finally:
        # Done: let the workers exit on their own (their finalizers run). Stopped early
        # (Ctrl-C, an error, or the consumer gave up): terminate them now.
        if finished:
            pool.close()
        else:
            pool.stop()
        pool.join()
