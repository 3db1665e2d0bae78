"""The one retry policy and the circuit breaker of the enrichment client."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True)
class RetryPolicy:
    """Jittered exponential back-off under a total deadline.

    Connect errors, timeouts and 503 with ``Retry-After`` are retried; nothing else.
    A 503's ``Retry-After`` is honoured when the deadline allows it, else the call stops.
    """

    attempts: int = 3
    base_s: float = 0.2
    max_s: float = 2.0
    deadline_s: float = 45.0

    def backoff(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Full jitter: uniform in [0, min(max, base * 2^(attempt-1))]."""
        return rng() * min(self.max_s, self.base_s * 2 ** (attempt - 1))

    def wait_before_retry(self, attempt: int, retry_after: float | None, remaining_s: float) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None to give up."""
        if attempt >= self.attempts:
            return None
        wait = max(retry_after or 0.0, self.backoff(attempt))
        return wait if wait < remaining_s else None


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass
class CircuitBreaker:
    """Opens after ``failure_threshold`` consecutive failures; after ``cooldown_s`` one
    trial call is let through (half-open): success closes it, failure opens it again."""

    failure_threshold: int = 5
    cooldown_s: float = 30.0
    clock: Callable[[], float] = time.monotonic
    state: BreakerState = BreakerState.CLOSED
    failures: int = 0
    opened_at: float = 0.0
    _trial_in_flight: bool = field(default=False, repr=False)

    def allow(self) -> bool:
        if self.state is BreakerState.OPEN:
            if self.clock() - self.opened_at < self.cooldown_s:
                return False
            self.state = BreakerState.HALF_OPEN
            self._trial_in_flight = False
        if self.state is BreakerState.HALF_OPEN:
            if self._trial_in_flight:
                return False
            self._trial_in_flight = True
        return True

    def record_success(self) -> None:
        self.state = BreakerState.CLOSED
        self.failures = 0
        self._trial_in_flight = False

    def record_failure(self) -> None:
        self.failures += 1
        if self.state is BreakerState.HALF_OPEN or self.failures >= self.failure_threshold:
            self.state = BreakerState.OPEN
            self.opened_at = self.clock()
        self._trial_in_flight = False

    def retry_in(self) -> float:
        return max(0.0, self.cooldown_s - (self.clock() - self.opened_at))
