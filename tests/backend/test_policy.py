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
    breaker = CircuitBreaker(failure_threshold=2, cooldown_s=10.0, half_open_calls=1, clock=lambda: now[0])
    breaker.record_failure()
    assert breaker.allow() and breaker.state is BreakerState.CLOSED
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    now[0] = 10.5
    assert breaker.allow() and breaker.state is BreakerState.HALF_OPEN
    assert not breaker.allow(), "half_open_calls=1: one trial at a time"
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    now[0] = 21.0
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED and breaker.failures == 0


def _opened(half_open_calls: int = 3) -> tuple[CircuitBreaker, list[float]]:
    now = [0.0]
    breaker = CircuitBreaker(
        failure_threshold=2, cooldown_s=10.0, half_open_calls=half_open_calls, clock=lambda: now[0]
    )
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    return breaker, now


def test_half_open_lets_n_trial_calls_through_and_the_first_success_closes() -> None:
    breaker, now = _opened(half_open_calls=3)
    assert CircuitBreaker().half_open_calls == 3, "the default"
    now[0] = 10.0
    admitted = [breaker.allow() for _ in range(5)]
    assert admitted == [True, True, True, False, False], "exactly N trials while half-open"
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.record_success()  # the first trial to answer
    assert breaker.state is BreakerState.CLOSED and breaker.failures == 0
    assert all(breaker.allow() for _ in range(10)), "closed: everything goes through"


def test_a_failed_trial_opens_again_for_a_full_cooldown() -> None:
    breaker, now = _opened()
    now[0] = 10.0
    assert breaker.allow() and breaker.allow()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    now[0] = 19.9
    assert not breaker.allow(), "re-opened at t=10: closed to calls until t=20"
    now[0] = 20.0
    assert [breaker.allow() for _ in range(4)] == [True, True, True, False], "a fresh round of N trials"


def test_half_open_on_demand_skips_the_rest_of_the_cooldown() -> None:
    breaker, now = _opened()
    now[0] = 1.0
    assert not breaker.allow()
    breaker.half_open()  # what the /ready probe does when the service answers 200
    assert breaker.state is BreakerState.HALF_OPEN
    assert [breaker.allow() for _ in range(4)] == [True, True, True, False]
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    breaker.half_open()
    assert breaker.state is BreakerState.CLOSED, "a closed breaker stays closed"


def test_trials_that_never_report_do_not_wedge_the_breaker() -> None:
    breaker, now = _opened(half_open_calls=2)
    now[0] = 10.0
    assert breaker.allow() and breaker.allow() and not breaker.allow()
    now[0] = 19.9
    assert not breaker.allow(), "the round's trials may still answer"
    now[0] = 20.0
    assert breaker.allow(), "cancelled trials: a new round after the cool-down"


def test_a_ready_service_cuts_the_cooldown_short_only_until_a_trial_fails() -> None:
    """/ready can answer 200 while the models fail: after a failed trial only the
    cool-down reopens the way, or the breaker would try every probe interval."""
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=1, cooldown_s=30.0, clock=lambda: now[0])
    breaker.record_failure()
    assert breaker.may_half_open_early
    breaker.half_open()
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN and not breaker.may_half_open_early
    now[0] = 31.0
    assert breaker.allow(), "the cool-down still lets a trial through"
    breaker.record_success()
    breaker.record_failure()
    assert breaker.may_half_open_early, "a success resets it"
