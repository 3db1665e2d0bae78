"""The retry policy and the circuit breaker, with a controlled clock."""

from __future__ import annotations

from backend.enrichment_client.policy import BreakerState, CircuitBreaker, RetryPolicy


def test_backoff_is_jittered_and_capped() -> None:
    policy = RetryPolicy(attempts=5, base_s=0.2, max_s=1.0)
    assert policy.backoff(1, rng=lambda: 1.0) == 0.2
    assert policy.backoff(3, rng=lambda: 1.0) == 0.8
    assert policy.backoff(5, rng=lambda: 1.0) == 1.0
    assert policy.backoff(5, rng=lambda: 0.25) == 0.25


def test_wait_before_retry_respects_attempts_deadline_and_retry_after() -> None:
    policy = RetryPolicy(attempts=3, base_s=0.1, max_s=0.1)
    assert policy.wait_before_retry(3, None, 10.0) is None, "out of attempts"
    assert policy.wait_before_retry(1, 2.0, 10.0) == 2.0, "Retry-After wins when longer"
    assert policy.wait_before_retry(1, 20.0, 10.0) is None, "cannot wait past the deadline"


def test_breaker_opens_after_threshold_then_half_opens_after_cooldown() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=2, cooldown_s=10.0, clock=lambda: now[0])
    breaker.record_failure()
    assert breaker.allow() and breaker.state is BreakerState.CLOSED
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    now[0] = 10.5
    assert breaker.allow() and breaker.state is BreakerState.HALF_OPEN
    assert not breaker.allow(), "one trial at a time"
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    now[0] = 21.0
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED and breaker.failures == 0
