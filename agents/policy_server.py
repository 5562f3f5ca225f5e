"""A policy server: one Ray actor holds the model and answers many search workers' model
calls, batched dynamically (a first prototype: ``provergym bench --executor ray
--policy-server`` uses it for the Metamath model; ``iterate`` does not yet).

A search worker's model calls are of two kinds (see
:class:`agents.search_policies.MetamathModelPolicy`): the first-token distribution over the
labels that apply (one forward pass of the prompt) and the log-probabilities of ~30
candidate actions (a forward pass of the prompt, then of the actions). The server queues
the requests of every worker; a batch is run once it holds ``max_batch`` requests or its
first request has waited ``deadline_ms``. First-token requests of a batch run as one
left-padded forward pass; scoring requests run one after another in it (batching them
across prompts, which a GPU would want, is not done yet). The server counts batches and
requests: ``stats()`` gives the batch occupancy.

A worker uses it through :class:`ServedModel`, which stands in for its local
:class:`agents.policy.Policy` and sends those two calls to the server (the worker still
loads the model for its tokenizer, retriever and value calls).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from agents.defaults import POLICY_SERVER
from agents.policy import Policy
from agents.tasks import goal_text


class PolicyServer:
    """The server's logic (a Ray actor class through :func:`start_server`)."""

    def __init__(self, model_dir: str, max_batch: int = 16, deadline_ms: float = 5.0,
                 threads: int = 1, device: str | None = None) -> None:
        import torch

        if threads:
            torch.set_num_threads(threads)
        self.policy = Policy.load(model_dir, device=device)
        self.model_path = model_dir
        self.max_batch, self.deadline = max_batch, deadline_ms / 1000
        self.queue: list[tuple[str, Any, asyncio.Future]] = []
        self.runner: asyncio.Task | None = None
        self.counts = {"batches": 0, "requests": 0, "first_token": 0, "score": 0,
                       "busy_s": 0.0}

    async def first_token_logprobs(self, goal: str, words: list[str]) -> list[float]:
        return await self._submit("first_token", (goal, words))

    async def score(self, goal: str, actions: list[str]) -> list[float]:
        return await self._submit("score", (goal, actions))

    def model_dir(self) -> str:
        return self.model_path

    def stats(self) -> dict[str, float]:
        counts = dict(self.counts)
        batches = counts["batches"] or 1
        counts["mean_batch"] = counts["requests"] / batches
        counts["occupancy"] = counts["mean_batch"] / self.max_batch
        return counts

    async def _submit(self, kind: str, payload: Any) -> list[float]:
        future = asyncio.get_running_loop().create_future()
        self.queue.append((kind, payload, future))
        if self.runner is None or self.runner.done():
            self.runner = asyncio.create_task(self._run())
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self.queue:
            opened = time.monotonic()
            while len(self.queue) < self.max_batch and time.monotonic() - opened < self.deadline:
                await asyncio.sleep(self.deadline / 10)
            batch, self.queue = self.queue[:self.max_batch], self.queue[self.max_batch:]
            started = time.monotonic()
            try:  # in a thread: the event loop keeps taking requests meanwhile
                answers = await loop.run_in_executor(None, self._compute, batch)
            except Exception as error:  # noqa: BLE001 - every waiting worker gets it
                for _, _, future in batch:
                    future.set_exception(error)
                continue
            self.counts["busy_s"] += time.monotonic() - started
            self.counts["batches"] += 1
            self.counts["requests"] += len(batch)
            for (kind, _, future), answer in zip(batch, answers):
                self.counts[kind] += 1
                future.set_result(answer)

    def _compute(self, batch: Sequence[tuple[str, Any, Any]]) -> list[list[float]]:
        answers: list[list[float] | None] = [None] * len(batch)
        first = [i for i, (kind, _, _) in enumerate(batch) if kind == "first_token"]
        if first:
            found = self.policy.first_token_logprobs_batch(
                [batch[i][1][0] for i in first], [batch[i][1][1] for i in first])
            for i, answer in zip(first, found):
                answers[i] = answer
        for i, (kind, (goal, actions), _) in enumerate(batch):
            if kind == "score":
                answers[i] = self.policy.score(goal, actions)
        return answers  # type: ignore[return-value]


def start_server(model_dir: str, name: str, max_batch: int = 16, deadline_ms: float = 5.0,
                 threads: int = 1, num_cpus: float = 1, num_gpus: float = 0) -> Any:
    """Start the server as a named Ray actor (workers find it with ``ray.get_actor``)."""
    import ray

    actor = ray.remote(num_cpus=num_cpus, num_gpus=num_gpus, max_concurrency=1000)(PolicyServer)
    handle = actor.options(name=name).remote(model_dir, max_batch, deadline_ms, threads,
                                             "cuda" if num_gpus else None)
    ray.get(handle.stats.remote())  # loaded
    _STARTED[name] = handle  # Ray ends an actor nobody holds a handle to, named or not
    return handle


_STARTED: dict[str, Any] = {}


class ServedModel:
    """Stands in for a worker's :class:`agents.policy.Policy`: the first-token and scoring
    calls go to the server, everything else to the local one."""

    def __init__(self, local: Policy, server: Any) -> None:
        self.local, self.server = local, server

    def __getattr__(self, name: str) -> Any:
        return getattr(self.local, name)

    def first_token_logprobs(self, goal: Any, words: Sequence[str]) -> list[float]:
        import ray

        text = goal_text(self.local.task, goal)
        return ray.get(self.server.first_token_logprobs.remote(text, list(words)))

    def score(self, goal: Any, actions: Sequence[str]) -> list[float]:
        import ray

        if not actions:
            return []
        text = goal_text(self.local.task, goal)
        return ray.get(self.server.score.remote(text, list(actions)))


def ensure_server(model_dir: str, name: str = POLICY_SERVER, **options: Any) -> Any:
    """The running server ``name`` (Ray must be connected), started with ``model_dir`` if
    there is none. One that serves another model is an error, not a silent mix."""
    import ray

    try:
        handle = ray.get_actor(name)
    except ValueError:
        # no CPU slot of its own: the workers keep theirs (it shares the machine's cores)
        return start_server(model_dir, name, **{"num_cpus": 0, **options})
    serving = ray.get(handle.model_dir.remote())
    if serving != model_dir:
        raise ValueError(f"the policy server {name!r} serves {serving}, not {model_dir}")
    return handle


def served(local: Policy, name: str) -> ServedModel:
    """``local`` with its model calls sent to the running server ``name``."""
    import ray

    try:
        return ServedModel(local, ray.get_actor(name))
    except ValueError:
        raise ValueError(f"no policy server {name!r} is running on this Ray cluster") from None
