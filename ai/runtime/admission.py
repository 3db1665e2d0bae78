"""Request memory admission: a budget of decoded pixels in flight per service.

A decoded image costs ~3 bytes per pixel (plus a copy or two while it is converted and
cropped), whatever its compressed size: a 35 KB PNG can be 6000x6000. Each request
reserves the pixels it will decode before decoding, and keeps them until its answer
is sent; a request that does not fit waits up to ``ADMISSION_WAIT_SECONDS`` and is then
refused with 503 ``RESOURCE_EXHAUSTED`` and ``Retry-After``. When a burst is over
(nothing in flight), freed heap memory is handed back to the operating system.
"""

from __future__ import annotations

import asyncio
import collections
import ctypes
import ctypes.util
import logging
import time
from collections.abc import Callable

from prometheus_client import Counter, Gauge

from ai.runtime.context import current_request
from ai.runtime.errors import ErrorCode, ServiceError

logger = logging.getLogger(__name__)

TRIM_AFTER_PIXELS = 50_000_000  # hand memory back once this much was decoded since the last time


def _malloc_trim() -> Callable[[], None] | None:
    """glibc keeps freed memory in its arenas; ``malloc_trim(0)`` returns it (elsewhere: no-op)."""
    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None
    if trim is None:
        return None
    trim.argtypes = [ctypes.c_size_t]
    return lambda: trim(0) and None


class PixelAdmission:
    def __init__(
        self,
        budget_pixels: int,
        wait_s: float,
        retry_after_s: float,
        in_flight_gauge: Gauge | None = None,
        refusals: Counter | None = None,
    ) -> None:
        self.budget = budget_pixels
        self.wait_s = wait_s
        self.retry_after_s = retry_after_s
        self.in_flight = 0
        self._waiters: collections.deque[tuple[int, asyncio.Future[None]]] = collections.deque()
        self._gauge = in_flight_gauge
        self._refusals = refusals
        self._since_trim = 0
        self._trim = _malloc_trim()

    async def admit(self, pixels: int) -> None:
        """Reserve ``pixels`` for the current request (released when it ends)."""
        need = max(1, min(pixels, self.budget))  # one image larger than the budget may run alone
        if self._fits(need) and not self._waiters:
            self.in_flight += need
        else:
            await self._wait(need)  # returns with ``need`` reserved by whoever woke it
        self._since_trim += need
        self._report()
        info = current_request()
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._release(need)

        if info is not None:
            info.on_finish.append(release)
        else:  # outside a request (a test): nothing would release it
            release()

    def _fits(self, need: int) -> bool:
        return self.in_flight + need <= self.budget

    async def _wait(self, need: int) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (need, future)
        self._waiters.append(entry)
        started = time.monotonic()
        try:
            await asyncio.wait_for(asyncio.shield(future), self.wait_s)
        except TimeoutError:
            if future.done() and not future.cancelled():
                return  # admitted just as the wait ran out
            if entry in self._waiters:
                self._waiters.remove(entry)
            if self._refusals is not None:
                self._refusals.inc()
            raise ServiceError(
                ErrorCode.RESOURCE_EXHAUSTED,
                f"images being decoded already fill MAX_INFLIGHT_MEGAPIXELS={self.budget / 1e6:g}; "
                f"waited {time.monotonic() - started:.1f}s",
                details={"pixels": need, "in_flight_pixels": self.in_flight, "budget_pixels": self.budget},
                retry_after=self.retry_after_s,
            ) from None
        except BaseException:  # cancelled (the client left): give back what the waker reserved
            if future.done() and not future.cancelled():
                self._release(need)
            raise
        finally:
            if not future.done():
                future.cancel()
                self._wake()  # the line moved: someone behind may fit now

    def _release(self, need: int) -> None:
        self.in_flight -= need
        self._report()
        self._wake()
        if self.in_flight == 0 and not self._waiters and self._since_trim >= TRIM_AFTER_PIXELS:
            self._since_trim = 0
            self.return_memory()

    def _wake(self) -> None:
        """First come, first served: the head of the line is admitted as soon as it fits,
        and nobody overtakes it (a large image is not starved by a stream of small ones)."""
        while self._waiters:
            need, future = self._waiters[0]
            if future.done():
                self._waiters.popleft()
                continue
            if self.in_flight + need > self.budget:
                break
            self.in_flight += need  # reserved now, so the next in line sees it
            self._waiters.popleft()
            future.set_result(None)
        self._report()

    def return_memory(self) -> None:
        if self._trim is not None:
            started = time.perf_counter()
            self._trim()
            logger.debug("returned freed memory to the OS in %.1f ms", (time.perf_counter() - started) * 1000)

    def _report(self) -> None:
        if self._gauge is not None:
            self._gauge.set(self.in_flight)
