"""Executors: :func:`supervised` runs tasks on the local pool or on warm Ray actors.

Ray (``pip install 'provergym[distributed]'``) is the engine; this module only feeds it.
One actor per worker slot (one CPU each, so Ray spreads them over the cluster's nodes) runs
the ``initializer`` once and then task after task, so that whatever a task loads into
module-level caches (a parsed database, a policy built by the method registry, a Coq
session on one file) stays loaded for the next one: a warm worker.

What it adds to a plain ``ray.get`` over remote calls, the same as the local pool does:

- a task whose actor dies (``kill -9``, out of memory, its node lost) is **retried once**
  on a fresh actor, then reported lost (:data:`~provergym.workers.ERROR`) for that task
  alone; a task that raises is reported at once (it would raise again);
- a task still running ``limit`` seconds after it started is killed with its actor and
  reported (:data:`~provergym.workers.TIMEOUT`); a fresh actor takes its place;
- an actor is replaced after ``max_tasks`` tasks, or once its process's peak memory
  passes ``memory_cap_mb`` (a search once peaked at 9.5 GB);
- idle actors stay for the next run in the same process (the bench's next method,
  iterate's next round), still warm;
- after an actor dies, it is replaced only while the cluster has a CPU for it (a lost
  node's actors are not waited for), never with fewer than one actor in all.

Results come back to the caller, which writes them (``results.jsonl``): whichever
executor ran, the files, the resume and the reports are the same.
"""

from __future__ import annotations

import collections
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from provergym import workers
from provergym.errors import UserError
from provergym.workers import ERROR, RAISE, TIMEOUT, TaskLost

# How often the driver wakes to look for overdue tasks when none has finished.
POLL_SECONDS = 0.5
# Attempts a task gets when its actor dies under it (the first one included).
ATTEMPTS = 2


class DistributedError(UserError):
    """Ray is missing, or its cluster cannot be reached."""


EXECUTORS = ("local", "ray")


@dataclass(frozen=True)
class Executor:
    """Where workers run. ``local``: forked processes on this machine
    (:func:`provergym.workers.supervised`); ``ray``: Ray actors. ``address`` (Ray):
    ``None`` starts a local Ray with this machine's cores (or joins the one this process
    already started); ``"auto"`` joins the cluster that ``ray start`` made on this
    machine; ``HOST:PORT`` joins that head node."""

    kind: str = "local"
    address: str | None = None
    max_tasks: int | None = None  # Ray: replace an actor after this many tasks
    memory_cap_mb: float | None = None  # ... or once its peak memory passes this

    def __post_init__(self) -> None:
        if self.kind not in EXECUTORS:
            raise DistributedError(f"unknown executor {self.kind!r}: use local or ray")
        if self.address is not None and self.kind != "ray":
            raise DistributedError("--ray-address needs --executor ray")
        if self.max_tasks is not None and self.max_tasks < 1:
            raise DistributedError("max_tasks must be at least 1")


LOCAL = Executor()


def supervised(function: Callable[[Any], Any], tasks: Iterable[Any], jobs: int,
               limit: float | None = None, lost: Any = RAISE,
               initializer: Callable[[], object] | None = None, *, ordered: bool = False,
               executor: Executor = LOCAL) -> Iterator[Any]:
    """:func:`provergym.workers.supervised` (same arguments, same results) on
    ``executor``. With Ray, ``jobs`` is the number of actors (0: one per CPU of the
    cluster)."""
    if executor.kind == "local":
        return workers.supervised(function, tasks, max(1, jobs), limit, lost, initializer,
                                  ordered=ordered)
    return run(function, tasks, jobs, limit, lost, initializer, ordered=ordered,
               options=executor)


def add_arguments(parser: Any, local_jobs: int) -> None:
    """``--jobs``, ``--executor`` and ``--ray-address`` on a command's parser."""
    parser.add_argument("--jobs", type=int, default=None,
                        help=f"parallel workers (default {local_jobs}; with --executor ray, "
                             "one per CPU of the cluster)")
    add_executor_arguments(parser)


def add_executor_arguments(parser: Any) -> None:
    """``--executor`` and ``--ray-address`` (for a command with its own ``--jobs``)."""
    parser.add_argument("--executor", choices=EXECUTORS, default="local",
                        help="local: forked processes on this machine (default); ray: Ray "
                             "actors, on a local Ray or the cluster at --ray-address")
    parser.add_argument("--worker-max-tasks", type=int, default=None,
                        help="with --executor ray: replace a worker after this many tasks")
    parser.add_argument("--worker-memory-cap", type=float, default=None, metavar="MB",
                        help="with --executor ray: replace a worker once its peak memory "
                             "passes this many MB (checked after each task)")
    parser.add_argument("--ray-address", default=None,
                        help="with --executor ray: auto (the cluster `ray start` made here) "
                             "or HOST:PORT of its head (default: a local Ray with this "
                             "machine's cores)")


def executor_of(args: Any) -> Executor:
    """The :class:`Executor` that :func:`add_executor_arguments`' options ask for."""
    if args.executor != "ray" and (args.worker_max_tasks or args.worker_memory_cap):
        raise DistributedError("--worker-max-tasks and --worker-memory-cap need "
                               "--executor ray")
    return Executor(args.executor, args.ray_address, args.worker_max_tasks,
                    args.worker_memory_cap)


def from_arguments(args: Any, local_jobs: int) -> tuple[int, Executor]:
    """(jobs, executor) from :func:`add_arguments`' options."""
    executor = executor_of(args)
    jobs = args.jobs if args.jobs is not None else (0 if executor.kind == "ray" else local_jobs)
    if jobs < (0 if executor.kind == "ray" else 1):
        raise DistributedError(f"--jobs must be at least 1, not {jobs}")
    return jobs, executor


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise DistributedError(
            "--executor ray needs Ray: pip install 'provergym[distributed]' (or run "
            "`make install`, which installs it)") from None
    return ray


def connect(address: str | None = None, cpus: int | None = None) -> Any:
    """Ray, connected: to ``address``, or to a new local Ray with ``cpus`` CPUs (default:
    this machine's). Quiet: no dashboard, no worker output copied to this terminal."""
    ray = import_ray()
    if ray.is_initialized():
        return ray
    options: dict[str, Any] = dict(include_dashboard=False, log_to_driver=False,
                                   logging_level=logging.ERROR, configure_logging=True)
    if address is None:
        options["num_cpus"] = cpus or os.cpu_count() or 1
    try:
        ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise DistributedError(f"cannot reach the Ray cluster at {address}: {error} "
                               "(start one with `ray start --head`)") from None
    return ray


def cluster_cpus(ray: Any) -> int:
    """CPUs of the nodes alive now."""
    return int(ray.cluster_resources().get("CPU", 0))


class _Actor:
    """One warm worker (becomes a Ray actor class in :func:`_actor_class`)."""

    def __init__(self, initializer: Callable[[], object] | None) -> None:
        if initializer is not None:
            initializer()

    def run(self, function: Callable[[Any], Any], shared: Any, rest: Any,
            whole: bool) -> tuple[Any, float]:
        import resource

        task = rest if whole else (shared, *rest)
        result = function(task)
        # peak memory of this process so far (Linux: KiB), for the memory cap
        return result, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def pid(self) -> int:
        return os.getpid()


_ACTOR_CLASS: Any = None


def _actor_class(ray: Any) -> Any:
    global _ACTOR_CLASS
    if _ACTOR_CLASS is None:
        # no restart by Ray: a dead actor is replaced here, and its task retried here once
        _ACTOR_CLASS = ray.remote(num_cpus=1, max_restarts=0, max_task_retries=0)(_Actor)
    return _ACTOR_CLASS


@dataclass
class _Flight:
    actor: Any
    index: int
    task: Any
    attempt: int
    started: float


def run(function: Callable[[Any], Any], tasks: Iterable[Any], jobs: int,
        limit: float | None, lost: Any = RAISE,
        initializer: Callable[[], object] | None = None, *, ordered: bool = False,
        options: Executor = Executor("ray")) -> Iterator[Any]:
    """:func:`provergym.workers.supervised` on Ray (see the module's docstring): ``jobs``
    actors (0: one per CPU of the cluster)."""
    tasks = list(tasks)
    if not tasks:
        return
    ray = connect(options.address, jobs or None)
    from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError

    died: tuple[type, ...] = (RayActorError,)
    try:  # Ray's finer kinds of a lost actor, where this Ray has them
        from ray.exceptions import ActorUnavailableError, NodeDiedError
        died += (ActorUnavailableError, NodeDiedError)
    except ImportError:
        pass
    actor_class = _actor_class(ray)
    # A task that is (config, ...) with the same config object in every task sends the
    # config once, through Ray's object store, not once per task.
    whole = not (all(isinstance(t, tuple) and t for t in tasks)
                 and all(t[0] is tasks[0][0] for t in tasks))
    shared = None if whole else ray.put(tasks[0][0])
    wanted = max(1, jobs or cluster_cpus(ray) or 1)
    pool = _pool(ray, actor_class, initializer, wanted)
    todo = collections.deque((i, task, 1) for i, task in enumerate(tasks))
    flights: dict[Any, _Flight] = {}
    waiting: dict[int, Any] = {}  # ordered: finished results not yet yielded
    next_index = 0

    def give(index: int, value: Any) -> Iterator[Any]:
        nonlocal next_index
        if not ordered:
            yield value
            return
        waiting[index] = value
        while next_index in waiting:
            yield waiting.pop(next_index)
            next_index += 1

    def lose(index: int, task: Any, status: str, message: str) -> Iterator[Any]:
        if lost is RAISE:
            raise TaskLost(task, status, message)
        yield from give(index, lost(task, status, message) if callable(lost) else lost)

    try:
        while todo or flights:
            while todo and pool.idle:
                index, task, attempt = todo.popleft()
                actor = pool.idle.pop()
                ref = actor.run.remote(function, shared, task if whole else task[1:], whole)
                flights[ref] = _Flight(actor, index, task, attempt, time.monotonic())
            if not flights and not pool.idle and not pool.starting:
                pool.start()  # every actor was lost: one more, once the cluster has a CPU
            ready, _ = ray.wait([*flights, *pool.starting], num_returns=1,
                                timeout=POLL_SECONDS)
            for ref in ready:
                if ref in pool.starting:
                    pool.started(ref, died)
                    continue
                flight = flights.pop(ref)
                try:
                    result, peak = ray.get(ref, timeout=60)
                except died as error:
                    pool.replace(flight.actor)
                    if flight.attempt < ATTEMPTS:
                        todo.appendleft((flight.index, flight.task, flight.attempt + 1))
                    else:
                        yield from lose(flight.index, flight.task, ERROR,
                                        f"its worker died {ATTEMPTS} times "
                                        f"({type(error).__name__}: {_first_line(error)})")
                    continue
                except RayTaskError as error:
                    pool.idle.append(flight.actor)
                    cause = getattr(error, "cause", None) or error
                    yield from lose(flight.index, flight.task, ERROR,
                                    f"{type(cause).__name__}: {_first_line(cause)}")
                    continue
                except GetTimeoutError:
                    pool.replace(flight.actor)
                    yield from lose(flight.index, flight.task, ERROR,
                                    "its result could not be fetched in 60 s")
                    continue
                done = pool.served.get(flight.actor, 0) + 1
                pool.served[flight.actor] = done
                if ((options.max_tasks and done >= options.max_tasks)
                        or (options.memory_cap_mb and peak > options.memory_cap_mb)):
                    pool.replace(flight.actor)
                else:
                    pool.idle.append(flight.actor)
                yield from give(flight.index, result)
            if limit is not None:
                now = time.monotonic()
                for ref, flight in list(flights.items()):
                    if now - flight.started > limit:
                        del flights[ref]
                        pool.replace(flight.actor)
                        yield from lose(flight.index, flight.task, TIMEOUT,
                                        workers.overran(limit))
    finally:
        # Stopped early (Ctrl-C, an error, the consumer gave up): the actors still working
        # are killed, with their tasks. The idle ones stay, warm, for this process's next
        # run (the bench's next method, iterate's next round); Ray ends them with it.
        for flight in flights.values():
            pool.replace(flight.actor)


_POOLS: dict[tuple[Any, int], _Pool] = {}


def _pool(ray: Any, actor_class: Any, initializer: Any, wanted: int) -> _Pool:
    """The warm actors of earlier runs in this process with the same initializer and
    number of workers (new ones the first time, or after Ray was restarted)."""
    key = (initializer, wanted)
    pool = _POOLS.get(key)
    if pool is None or pool.session != _session(ray):
        for other in _POOLS.values():  # their idle actors hold CPUs the new ones need
            other.close()
        _POOLS.clear()
        pool = _POOLS[key] = _Pool(ray, actor_class, initializer, wanted)
    return pool


def _session(ray: Any) -> tuple[str, str] | None:
    """This process's connection to Ray (a new ``ray.init`` gives a new one)."""
    if not ray.is_initialized():
        return None
    context = ray.get_runtime_context()
    return context.get_node_id(), context.get_job_id()


class _Pool:
    """The actors: ``idle`` ones take tasks; ``starting`` ones (``ready ref -> actor``) are
    not known to run yet (on a cluster without a free CPU they may wait for one)."""

    def __init__(self, ray: Any, actor_class: Any, initializer: Any, wanted: int) -> None:
        self.ray, self.actor_class, self.initializer = ray, actor_class, initializer
        self.wanted = wanted
        self.idle: list[Any] = []
        self.starting: dict[Any, Any] = {}
        self.served: dict[Any, int] = {}  # actor -> tasks done
        self.count = 0  # actors alive or starting
        self.failed_starts = 0
        self.session = _session(ray)
        for _ in range(wanted):
            self.start()

    def start(self) -> None:
        actor = self.actor_class.remote(self.initializer)
        self.starting[actor.pid.remote()] = actor
        self.count += 1

    def started(self, ref: Any, died: tuple[type, ...]) -> None:
        actor = self.starting.pop(ref)
        try:
            self.ray.get(ref)
        except died as error:  # the initializer raised, or its node went away
            self.count -= 1
            self.failed_starts += 1
            if self.failed_starts > 2 * self.wanted + 2:
                raise DistributedError(f"Ray workers keep failing to start: "
                                       f"{_first_line(error)}") from None
            self.fresh()
            return
        self.idle.append(actor)

    def fresh(self) -> None:
        """One more actor, while the cluster has a CPU for it (a lost node's are not
        waited for)."""
        if self.count < max(1, min(self.wanted, cluster_cpus(self.ray))):
            self.start()

    def retire(self, actor: Any) -> None:
        self.count -= 1
        self.served.pop(actor, None)
        try:
            self.ray.kill(actor, no_restart=True)
        except Exception:  # noqa: BLE001 - it may be gone already
            pass

    def replace(self, actor: Any) -> None:
        self.retire(actor)
        self.fresh()

    def close(self) -> None:
        if self.session != _session(self.ray):
            return  # its Ray is gone, and its actors with it
        for actor in [*self.idle, *self.starting.values()]:
            self.retire(actor)
        self.idle, self.starting = [], {}



def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:300] if text else ""
