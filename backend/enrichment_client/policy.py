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

    Transport errors (connect, read, write, protocol, pool, timeouts: every
    ``httpx.TransportError``) and 503 with ``Retry-After`` are retried; nothing else.
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
    """Opens after ``failure_threshold`` consecutive failures. Half-open (after
    ``cooldown_s``, or at once when :meth:`half_open` is called because the service said
    it is ready) it lets up to ``half_open_calls`` trial calls through: the first success
    closes it, a failure opens it again. A half-open round whose trials never report (a
    cancelled call) is renewed after ``cooldown_s``, so the breaker cannot stick."""

    failure_threshold: int = 5
    cooldown_s: float = 30.0
    half_open_calls: int = 3
    clock: Callable[[], float] = time.monotonic
    state: BreakerState = BreakerState.CLOSED
    failures: int = 0
    opened_at: float = 0.0
    _trials: int = field(default=0, repr=False)
    _half_opened_at: float = field(default=0.0, repr=False)
    _trial_failed: bool = field(default=False, repr=False)

    def allow(self) -> bool:
        if self.state is BreakerState.OPEN:
            if self.clock() - self.opened_at < self.cooldown_s:
                return False
            self.half_open()
        if self.state is BreakerState.HALF_OPEN:
            if self._trials >= self.half_open_calls:
                if self.clock() - self._half_opened_at < self.cooldown_s:
                    return False
                self.half_open()  # the last round's trials never reported: a new round
            self._trials += 1
        return True

    def half_open(self) -> None:
        """Let a new round of trial calls through (the service looks ready again)."""
        if self.state is BreakerState.CLOSED:
            return
        self.state = BreakerState.HALF_OPEN
        self._trials = 0
        self._half_opened_at = self.clock()

    @property
    def may_half_open_early(self) -> bool:
        """Whether a ready service may cut the cool-down short: not after a trial failed
        (a service can say ready while its models fail), so it cannot degrade into
        trying every probe interval."""
        return self.state is BreakerState.OPEN and not self._trial_failed

    def record_success(self) -> None:
        self.state = BreakerState.CLOSED
        self.failures = 0
        self._trials = 0
        self._trial_failed = False

    def record_failure(self) -> None:
        self.failures += 1
        if self.state is BreakerState.HALF_OPEN:
            self._trial_failed = True
        if self.state is BreakerState.HALF_OPEN or self.failures >= self.failure_threshold:
            self.state = BreakerState.OPEN
            self.opened_at = self.clock()
            self._trials = 0

    def retry_in(self) -> float:
        if self.state is BreakerState.HALF_OPEN:
            return max(0.0, self.cooldown_s - (self.clock() - self._half_opened_at))
        return max(0.0, self.cooldown_s - (self.clock() - self.opened_at))
