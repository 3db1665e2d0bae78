"""Dynamic batching of one model: inputs of concurrent requests merge into one forward
pass, as Triton's dynamic batcher does, with two rules of our own.

* **An idle model never waits.** With nothing of this model running, what is queued
  goes at once, so a lone request pays nothing for batching. ``max_queue_delay_ms``
  is how long an input may wait for company while the model is already busy.
* **A batch takes its share.** A batch takes at most 1/k of the queue when the model
  may run ``k`` passes at once (``INFERENCE_WORKERS``), and at most ``max_batch_size``:
  on a CPU a pass runs its inputs one after another, so one worker taking the whole
  queue would leave the other idle.

A request's own inputs (a frame's crops) always run together in one pass, even past
``max_batch_size``, which limits only how much is merged across requests. The queue
is bounded (``MAX_QUEUED_REQUESTS`` requests per model): beyond it a request is refused
with 503 ``RESOURCE_EXHAUSTED`` and ``Retry-After``. When a merged pass fails with
``INFERENCE_FAILED`` (the model raised), its inputs run again one by one, so a bad input
fails only itself; a resource error (out of memory twice, no room) fails the whole pass.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ai.runtime.errors import ErrorCode, ServiceError
from ai.runtime.metrics import ServiceMetrics
from ai.runtime.model_state import BatchLimits

logger = logging.getLogger(__name__)

T = TypeVar("T")

# One forward pass over some inputs: their outputs, in order, and the pass's seconds.
RunBatch = Callable[[list[Any]], Awaitable[tuple[list[Any], float]]]


@dataclass(frozen=True)
class Inference(Generic[T]):
    """One input's output and the forward pass it shared.

    ``ms`` is the wall time of that whole pass: with ``batch_size`` > 1 it is shared
    with the other inputs, not divided among them, and time spent queueing is not in it.
    """

    output: T
    ms: float
    batch_size: int


ItemResult = Inference[Any] | ServiceError


@dataclass(eq=False)
class _Group:
    """One request's inputs, waiting to run."""

    items: list[Any]
    future: asyncio.Future[list[ItemResult]]
    enqueued: float


class Batcher:
    def __init__(
        self,
        model: str,
        run: RunBatch,
        limits: BatchLimits,
        *,
        concurrency: int,
        max_queued: int,
        metrics: ServiceMetrics,
        retry_after_s: float,
    ) -> None:
        self.model = model
        self.limits = limits
        self.concurrency = concurrency
        self.max_queued = max_queued
        self.metrics = metrics
        self.retry_after_s = retry_after_s
        self._run = run
        self._pending: deque[_Group] = deque()
        self._queued = 0
        self._in_flight = 0
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def queued(self) -> int:
        return self._queued

    async def submit(self, items: list[Any]) -> list[ItemResult]:
        """Run ``items`` (one request's inputs) in a forward pass; one result per item,
        an :class:`Inference` or the :class:`ServiceError` that item met."""
        if not items:
            return []
        if len(self._pending) >= self.max_queued:
            raise ServiceError(
                ErrorCode.RESOURCE_EXHAUSTED,
                f"{len(self._pending)} requests already wait for {self.model} "
                f"(MAX_QUEUED_REQUESTS = {self.max_queued})",
                details={"model": self.model, "queued_requests": len(self._pending), "limit": self.max_queued},
                retry_after=self.retry_after_s,
            )
        group = _Group(items, asyncio.get_running_loop().create_future(), time.monotonic())
        self._pending.append(group)
        self._set_queued(self._queued + len(items))
        self._dispatch()
        try:
            return await asyncio.shield(group.future)
        except asyncio.CancelledError:
            if group in self._pending:  # not started: nobody waits for it any more
                self._pending.remove(group)
                self._set_queued(self._queued - len(items))
            raise

    def close(self) -> None:
        """Refuse what still waits (the service is stopping)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        stopping = ServiceError(ErrorCode.SERVICE_UNAVAILABLE, "the service is shutting down")
        while self._pending:
            group = self._pending.popleft()
            if not group.future.done():
                group.future.set_exception(stopping)
        self._set_queued(0)

    def _dispatch(self) -> None:
        while self._pending and self._in_flight < self.concurrency:
            wait = self._wait_for_company()
            if wait > 0:
                if self._timer is None:
                    self._timer = asyncio.get_running_loop().call_later(wait, self._on_timer)
                return
            groups = self._take()
            self._in_flight += 1
            task = asyncio.get_running_loop().create_task(self._execute(groups))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _on_timer(self) -> None:
        self._timer = None
        self._dispatch()

    def _wait_for_company(self) -> float:
        """Seconds the oldest input should still wait; 0 when it should go now."""
        if self._in_flight == 0 or self.limits.max_queue_delay_ms <= 0:
            return 0.0
        if self._queued >= self.limits.max_batch_size:
            return 0.0
        return self._pending[0].enqueued + self.limits.max_queue_delay_ms / 1000.0 - time.monotonic()

    def _take(self) -> list[_Group]:
        limit = max(1, min(self.limits.max_batch_size, math.ceil(self._queued / self.concurrency)))
        groups = [self._pending.popleft()]
        size = len(groups[0].items)
        while self._pending and size + len(self._pending[0].items) <= limit:
            group = self._pending.popleft()
            groups.append(group)
            size += len(group.items)
        self._set_queued(self._queued - size)
        return groups

    async def _execute(self, groups: list[_Group]) -> None:
        started = time.monotonic()
        for group in groups:
            self.metrics.model_queue_delay_seconds.labels(model=self.model).observe(started - group.enqueued)
        items = [item for group in groups for item in group.items]
        try:
            results = await self._run_items(items)
        except asyncio.CancelledError:  # the service is stopping: answer, do not leave them waiting
            stopping = ServiceError(ErrorCode.SERVICE_UNAVAILABLE, "the service is shutting down")
            self._deliver(groups, [stopping] * len(items))
            raise
        except Exception as exc:  # a bug in the runtime, not in a model: fail these requests, not the loop
            logger.exception("batch execution of %s failed", self.model)
            error = ServiceError(ErrorCode.INTERNAL, f"{self.model}: {type(exc).__name__}: {exc}", sensitive=True)
            results = [error] * len(items)
        finally:
            self._in_flight -= 1
            self._dispatch()
        self._deliver(groups, results)

    @staticmethod
    def _deliver(groups: list[_Group], results: list[ItemResult]) -> None:
        offset = 0
        for group in groups:
            if not group.future.done():
                group.future.set_result(results[offset : offset + len(group.items)])
            offset += len(group.items)

    async def _run_items(self, items: list[Any]) -> list[ItemResult]:
        self.metrics.model_executions.labels(model=self.model).inc()
        self.metrics.model_inferences.labels(model=self.model).inc(len(items))
        self.metrics.model_batch_size.labels(model=self.model).observe(len(items))
        try:
            outputs, seconds = await self._run(items)
        except ServiceError as exc:
            if exc.code is ErrorCode.INFERENCE_FAILED and len(items) > 1:
                logger.warning("a batch of %d failed on %s; running its inputs one by one", len(items), self.model)
                return [result for item in items for result in await self._run_items([item])]
            return [exc] * len(items)
        self.metrics.model_inference_seconds.labels(model=self.model).observe(seconds)
        if len(outputs) != len(items):
            error = ServiceError(
                ErrorCode.INFERENCE_FAILED,
                f"{self.model}: run_batch gave {len(outputs)} outputs for {len(items)} inputs (a family bug)",
                details={"model": self.model},
            )
            return [error] * len(items)
        ms = round(seconds * 1000.0, 2)
        return [Inference(output, ms, len(items)) for output in outputs]

    def _set_queued(self, count: int) -> None:
        self._queued = count
        self.metrics.model_queued_inputs.labels(model=self.model).set(count)
