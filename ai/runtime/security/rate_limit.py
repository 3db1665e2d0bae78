"""Token buckets per caller (a key's name, or the client address without one)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

MAX_TRACKED = 10_000  # callers remembered; the least recently seen are forgotten first


@dataclass
class Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """``rate_per_minute`` tokens refill continuously up to ``burst``; a request takes one."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._buckets: OrderedDict[str, Bucket] = OrderedDict()

    def take(self, caller: str, rate_per_minute: float, burst: int) -> float | None:
        """None when allowed; otherwise the seconds until a token is available."""
        if rate_per_minute <= 0:
            return None
        now = self.clock()
        rate = rate_per_minute / 60.0
        capacity = max(1, burst)
        bucket = self._buckets.pop(caller, None) or Bucket(float(capacity), now)
        bucket.tokens = min(capacity, bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        self._buckets[caller] = bucket
        while len(self._buckets) > MAX_TRACKED:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / rate
