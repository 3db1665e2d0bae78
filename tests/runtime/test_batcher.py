"""The batcher's rules on a scripted forward pass (no model, no HTTP): when a batch
forms, how large, what waits and for how long, and whose failure is whose."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from ai.runtime.batcher import Batcher, Inference
from ai.runtime.errors import ErrorCode, ServiceError
from ai.runtime.metrics import ServiceMetrics
from ai.runtime.model_state import BatchLimits


class Script:
    """A forward pass that records its batches, takes ``pass_s``, and fails on ``poison``."""

    def __init__(self, pass_s: float = 0.05, poison: object = None, error: ServiceError | None = None) -> None:
        self.pass_s = pass_s
        self.poison = poison
        self.error = error
        self.batches: list[list[Any]] = []

    async def __call__(self, items: list[Any]) -> tuple[list[Any], float]:
        self.batches.append(list(items))
        await asyncio.sleep(self.pass_s)
        if self.error is not None:
            raise self.error
        if self.poison in items:
            raise ServiceError(ErrorCode.INFERENCE_FAILED, "the model choked")
        return [item * 10 for item in items], self.pass_s


def batcher(script: Script, size: int = 8, delay_ms: float = 0, concurrency: int = 1, queued: int = 64) -> Batcher:
    return Batcher(
        "m",
        script,
        BatchLimits(max_batch_size=size, max_queue_delay_ms=delay_ms),
        concurrency=concurrency,
        max_queued=queued,
        metrics=ServiceMetrics("t"),
        retry_after_s=3,
    )


def outputs(results: list[Any]) -> list[Any]:
    return [r.output if isinstance(r, Inference) else r.code for r in results]


async def test_a_lone_request_on_an_idle_model_never_waits_for_the_delay() -> None:
    script = Script(pass_s=0.01)
    started = time.perf_counter()
    results = await batcher(script, delay_ms=1000).submit([1])
    assert time.perf_counter() - started < 0.5, "a lone request waited for max_queue_delay_ms"
    assert outputs(results) == [10] and results[0].batch_size == 1


async def test_inputs_arriving_while_the_model_is_busy_run_together_in_order() -> None:
    script = Script(pass_s=0.1)
    b = batcher(script)
    results = await asyncio.gather(*(b.submit([i]) for i in range(1, 6)))
    assert script.batches == [[1], [2, 3, 4, 5]], "the first runs at once, the rest wait for it and go together"
    assert [outputs(r) for r in results] == [[10], [20], [30], [40], [50]]
    assert [r[0].batch_size for r in results] == [1, 4, 4, 4, 4]
    assert results[1][0].ms == pytest.approx(100.0), "inference_time_ms is the whole shared pass"


async def test_a_busy_model_with_a_free_slot_waits_at_most_the_delay_for_company() -> None:
    script = Script(pass_s=0.3)
    b = batcher(script, delay_ms=50, concurrency=2)
    first = asyncio.ensure_future(b.submit([1]))
    await asyncio.sleep(0.01)
    started = time.perf_counter()
    second = await b.submit([2])  # the model is busy, a slot is free: waits 50 ms, then runs alone
    waited = time.perf_counter() - started
    await first
    assert script.batches == [[1], [2]]
    assert outputs(second) == [20]
    assert 0.3 + 0.04 < waited < 0.3 + 0.25, f"the second input should start ~50 ms after it arrived ({waited:.3f}s)"


async def test_max_batch_size_caps_what_is_merged_across_requests() -> None:
    script = Script(pass_s=0.05)
    b = batcher(script, size=3)
    await asyncio.gather(*(b.submit([i]) for i in range(7)))
    assert [len(batch) for batch in script.batches] == [1, 3, 3]


async def test_one_requests_own_inputs_run_in_one_pass_even_past_the_cap() -> None:
    script = Script()
    results = await batcher(script, size=2).submit([1, 2, 3, 4])
    assert script.batches == [[1, 2, 3, 4]]
    assert outputs(results) == [10, 20, 30, 40]


async def test_with_two_slots_a_batch_takes_half_the_queue_so_the_other_worker_gets_work() -> None:
    script = Script(pass_s=0.1)
    b = batcher(script, size=8, concurrency=2)
    busy = [asyncio.ensure_future(b.submit([i])) for i in (0, 99)]  # both slots busy
    await asyncio.sleep(0.01)
    waiting = [asyncio.ensure_future(b.submit([i])) for i in range(1, 9)]  # 8 queue up
    await asyncio.gather(*busy, *waiting)
    later = script.batches[2:]
    assert len(later[0]) == 4, f"the first freed worker should take half of the 8, not all: {later}"
    assert sorted(i for batch in later for i in batch) == list(range(1, 9))


async def test_a_failing_batch_is_rerun_one_by_one_so_only_the_bad_input_fails() -> None:
    script = Script(pass_s=0.05, poison=3)
    b = batcher(script)
    results = await asyncio.gather(*(b.submit([i]) for i in range(1, 6)))
    assert [outputs(r) for r in results] == [[10], [20], ["INFERENCE_FAILED"], [40], [50]]
    assert [2, 3, 4, 5] in script.batches, "they did share a pass first"


async def test_a_resource_error_fails_the_whole_batch_without_retrying_item_by_item() -> None:
    error = ServiceError(ErrorCode.RESOURCE_EXHAUSTED, "out of memory twice", retry_after=5)
    script = Script(pass_s=0.01, error=error)
    results = await batcher(script).submit([1, 2, 3])
    assert outputs(results) == ["RESOURCE_EXHAUSTED"] * 3
    assert len(script.batches) == 1


async def test_a_full_queue_refuses_with_resource_exhausted_and_retry_after() -> None:
    script = Script(pass_s=0.2)
    b = batcher(script, size=1, queued=2)
    running = asyncio.ensure_future(b.submit([1]))
    await asyncio.sleep(0.01)
    queued = [asyncio.ensure_future(b.submit([i])) for i in (2, 3)]
    await asyncio.sleep(0.01)
    with pytest.raises(ServiceError) as refused:
        await b.submit([4])
    assert refused.value.code is ErrorCode.RESOURCE_EXHAUSTED
    assert refused.value.headers() == {"Retry-After": "3"}
    await asyncio.gather(running, *queued)


async def test_a_cancelled_request_that_has_not_started_leaves_the_queue() -> None:
    script = Script(pass_s=0.1)
    b = batcher(script)
    running = asyncio.ensure_future(b.submit([1]))
    await asyncio.sleep(0.01)
    abandoned = asyncio.ensure_future(b.submit([2]))
    await asyncio.sleep(0.01)
    abandoned.cancel()
    await asyncio.sleep(0)
    assert b.queued == 0
    await running
    assert script.batches == [[1]]


async def test_metrics_count_inferences_and_executions_like_triton() -> None:
    script = Script(pass_s=0.05)
    b = batcher(script)
    await asyncio.gather(*(b.submit([i]) for i in range(4)))
    text = b.metrics.render().decode()
    assert 't_model_inferences_total{model="m"} 4.0' in text
    assert 't_model_executions_total{model="m"} 2.0' in text
    assert 't_model_batch_size_bucket{le="1.0",model="m"} 1.0' in text
    assert 't_model_queue_delay_seconds_count{model="m"} 4.0' in text


class Cancelled(Script):
    """A pass interrupted because the service stops (the executor is shut down)."""

    async def __call__(self, items: list[Any]) -> tuple[list[Any], float]:
        self.batches.append(list(items))
        raise asyncio.CancelledError


async def test_requests_in_a_pass_cut_short_by_shutdown_are_answered_not_left_hanging() -> None:
    results = await asyncio.wait_for(batcher(Cancelled()).submit([1, 2]), timeout=2)
    assert outputs(results) == ["SERVICE_UNAVAILABLE"] * 2


async def test_closing_answers_what_still_waits() -> None:
    b = batcher(Script(pass_s=0.2))
    running = asyncio.ensure_future(b.submit([1]))
    await asyncio.sleep(0.01)
    waiting = asyncio.ensure_future(b.submit([2]))
    await asyncio.sleep(0.01)
    b.close()
    with pytest.raises(ServiceError) as stopped:
        await asyncio.wait_for(waiting, timeout=2)
    assert stopped.value.code is ErrorCode.SERVICE_UNAVAILABLE
    assert outputs(await running) == [10], "the pass already running still answers"
