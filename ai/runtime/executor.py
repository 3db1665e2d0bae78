"""Thread pools that keep blocking model work off the event loop."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from ai.runtime.errors import ErrorCode, ServiceError

T = TypeVar("T")


class BoundedExecutor:
    """A fixed pool of worker threads with a bound on work waiting for them.

    Work beyond ``workers + max_queued`` is refused at once with 503
    ``RESOURCE_EXHAUSTED`` rather than queued without limit. A slot is freed when
    the thread finishes, not when the caller stops waiting, so a cancelled request
    cannot oversubscribe the pool.
    """

    def __init__(self, workers: int, max_queued: int, name: str, retry_after_s: float = 1.0) -> None:
        self.workers = workers
        self.limit = workers + max_queued
        self.retry_after_s = retry_after_s
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def submit(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> asyncio.Future[T]:
        """Schedule ``fn`` on a worker thread; the future resolves on the event loop."""
        if self._in_flight >= self.limit:
            raise ServiceError(
                ErrorCode.RESOURCE_EXHAUSTED,
                f"{self._in_flight} requests are already running or queued "
                f"(INFERENCE_WORKERS + MAX_QUEUED_REQUESTS = {self.limit})",
                retry_after=self.retry_after_s,
                details={"in_flight": self._in_flight, "limit": self.limit},
            )
        loop = asyncio.get_running_loop()
        self._in_flight += 1
        future = loop.run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))
        future.add_done_callback(self._finished)
        return future

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` on a worker thread and wait for it (the work survives cancellation)."""
        return await asyncio.shield(self.submit(fn, *args, **kwargs))

    def _finished(self, _future: asyncio.Future[Any]) -> None:
        self._in_flight -= 1

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
