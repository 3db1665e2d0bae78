"""Record latency without making requests wait on the database: samples are queued and
written in batches on a worker thread."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from backend.storage.latency import LatencySample, LatencyStore

logger = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 0.5
MAX_QUEUED = 10_000
PRUNE_EVERY_S = 3600.0


class LatencyRecorder:
    def __init__(self, store: LatencyStore, retention_days: float) -> None:
        self.store = store
        self.retention_s = retention_days * 86400.0
        self.dropped = 0
        self._pending: list[LatencySample] = []
        self._task: asyncio.Task[None] | None = None
        self._last_prune = 0.0

    def record(self, model: str, service: str, endpoint: str, latency_ms: float, ok: bool) -> None:
        if len(self._pending) >= MAX_QUEUED:
            self.dropped += 1  # the database fell behind; losing history beats losing requests
            return
        self._pending.append(LatencySample(model, service, endpoint, float(latency_ms), ok, time.time()))

    async def flush(self) -> None:
        batch, self._pending = self._pending, []
        if batch:
            try:
                await asyncio.to_thread(self.store.add, batch)
            except Exception:
                logger.exception("could not store %d latency samples", len(batch))

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="latency-recorder")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_S)
            await self.flush()
            now = time.time()
            if now - self._last_prune > PRUNE_EVERY_S:
                self._last_prune = now
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(self.store.prune, now - self.retention_s)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()
