"""The one worker pool: a task that overruns its limit or a worker that dies costs only its
own task, reported through ``lost``; every other result comes back, correct."""

from __future__ import annotations

import os
import signal
import time

import pytest

from provergym.workers import ERROR, TIMEOUT, TaskLost, supervised

INHERITED: dict[str, str] = {}  # set before the pool forks: the workers see it


def _square(task: int) -> tuple[int, int]:
    return task, task * task


def _task(name: str) -> str:
    if name == "hang":
        time.sleep(120)
    if name == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    if name == "raise":
        raise RuntimeError("a bug in a task")
    return f"done {name} in {os.getpid()}"


def _lost(task: str, status: str, message: str) -> str:
    return f"lost {task}: {status}: {message}"


def _pid(task: int) -> int:
    time.sleep(0.05)
    return os.getpid()


def _inherited(key: str) -> str:
    return INHERITED[key]


def _mark_worker() -> None:
    INHERITED["initialized"] = f"in {os.getpid()}"


def test_results_are_complete_and_correct_as_they_come_and_in_order():
    tasks = list(range(50))
    unordered = list(supervised(_square, tasks, 2))
    assert sorted(unordered) == [(n, n * n) for n in tasks]
    assert list(supervised(_square, tasks, 2, ordered=True)) == [(n, n * n) for n in tasks]
    assert list(supervised(_square, [], 2)) == []


def test_an_overrunning_task_is_lost_as_timeout_and_the_next_tasks_still_run():
    tasks = ["a", "hang", "b", "c", "d"]
    started = time.perf_counter()
    out = list(supervised(_task, tasks, 2, 2.0, _lost))
    assert time.perf_counter() - started < 60  # nothing waited for the hung task
    by_task = {line.split()[1].rstrip(":"): line for line in out}
    assert set(by_task) == set(tasks)
    assert by_task["hang"].startswith(f"lost hang: {TIMEOUT}: killed after 2 s")
    for name in "abcd":
        assert by_task[name].startswith(f"done {name} in ")


def test_a_killed_worker_is_lost_as_error_and_the_rest_complete():
    tasks = ["a", "die", "b", "c", "raise", "d", "e"]
    out = list(supervised(_task, tasks, 1, None, _lost))  # one worker: it must be replaced
    by_task = {line.split()[1].rstrip(":"): line for line in out}
    assert set(by_task) == set(tasks)
    assert by_task["die"].startswith(f"lost die: {ERROR}: the worker process died (exit code -9")
    assert "out of memory?" in by_task["die"]
    assert by_task["raise"] == f"lost raise: {ERROR}: RuntimeError: a bug in a task"
    for name in "abcde":
        assert by_task[name].startswith(f"done {name} in ")
    # the tasks after the death ran in a fresh worker
    assert len({line.rsplit(" ", 1)[1] for line in out if line.startswith("done")}) == 2


def test_lost_may_be_a_value_and_without_it_a_lost_task_raises():
    out = list(supervised(_task, ["a", "die", "b"], 2, None, "LOST", ordered=True))
    assert out[1] == "LOST" and out[0].startswith("done a") and out[2].startswith("done b")
    with pytest.raises(TaskLost) as raised:
        list(supervised(_task, ["raise"], 1))
    assert raised.value.task == "raise" and raised.value.status == ERROR
    assert "a bug in a task" in raised.value.message


def test_workers_inherit_the_parents_data_and_run_the_initializer():
    INHERITED["key"] = "parsed before the fork"
    try:
        assert list(supervised(_inherited, ["key"] * 4, 2)) == ["parsed before the fork"] * 4
        marks = list(supervised(_inherited, ["initialized"] * 4, 2,
                                initializer=_mark_worker))
        assert all(mark.startswith("in ") and mark != f"in {os.getpid()}" for mark in marks)
    finally:
        INHERITED.clear()


def test_leaving_early_stops_the_workers():
    results = supervised(_pid, list(range(200)), 2)
    pids = {next(results) for _ in range(4)}
    results.close()  # the consumer gives up: the workers are terminated and reaped now
    assert pids and os.getpid() not in pids
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_jobs_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        list(supervised(_square, [1], 0))
