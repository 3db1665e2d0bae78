"""Loading rules: single flight, failures and back-off, out-of-memory, keep-alive, preload."""

from __future__ import annotations

import asyncio

import pytest

from ai.runtime.errors import ErrorCode, ServiceError
from ai.runtime.model_state import KEEP_ALIVE_PINNED, ModelState, Priority
from tests.runtime.manager_factory import make_manager
from tests.support.torch_models import LoadLog, always, blob_spec, first, out_of_memory, run_blob


async def test_20_concurrent_requests_for_one_unloaded_model_cause_exactly_one_load() -> None:
    log = LoadLog()
    manager = make_manager([blob_spec("pose", 4, load_delay_s=0.3, log=log)], budget_mb=100)
    results = await asyncio.gather(*(manager.run("pose", run_blob, float(i)) for i in range(20)))
    assert len(results) == 20
    assert log.counts == {"pose": 1}
    assert manager.records["pose"].load_count == 1
    await manager.close()


async def test_failing_loader_sets_error_shows_message_and_retries_after_backoff() -> None:
    log = LoadLog()
    broken = blob_spec("reid", 4, log=log, failure=first(1, lambda: ValueError("checkpoint is corrupt")))
    manager = make_manager([broken], budget_mb=100, retry_backoff_s=0.3)

    with pytest.raises(ServiceError) as err:
        await manager.load("reid")
    assert err.value.code is ErrorCode.MODEL_LOAD_FAILED
    status = manager.status().registered_models[0]
    assert status.state == "error"
    assert "checkpoint is corrupt" in (status.error or "")

    # Within the back-off the loader is not called again.
    with pytest.raises(ServiceError) as again:
        await manager.load("reid")
    assert again.value.code is ErrorCode.MODEL_LOAD_FAILED
    assert again.value.retry_after is not None and again.value.retry_after <= 0.3
    assert log.counts["reid"] == 1

    await asyncio.sleep(0.35)
    await manager.load("reid")
    assert log.counts["reid"] == 2
    assert manager.records["reid"].state is ModelState.LOADED
    assert manager.records["reid"].error is None
    await manager.close()


async def test_backoff_grows_with_consecutive_failures() -> None:
    manager = make_manager(
        [blob_spec("x", 1, failure=always(lambda: OSError("disk")))], budget_mb=10, retry_backoff_s=0.05
    )
    record = manager.records["x"]
    for expected in (0.05, 0.1, 0.2):
        with pytest.raises(ServiceError) as err:
            await manager.load("x")
        assert err.value.retry_after == pytest.approx(expected)
        await asyncio.sleep(expected + 0.02)
    assert record.consecutive_failures == 3
    await manager.close()


async def test_oom_during_load_evicts_retries_once_then_resource_exhausted() -> None:
    log = LoadLog()
    manager = make_manager(
        [
            blob_spec("cached", 4, Priority.LOW, estimate_mb=5),
            blob_spec("hungry", 4, Priority.HIGH, estimate_mb=5, log=log, failure=always(out_of_memory)),
        ],
        budget_mb=100,
    )
    await manager.load("cached")
    with pytest.raises(ServiceError) as err:
        await manager.load("hungry")
    assert err.value.code is ErrorCode.RESOURCE_EXHAUSTED
    assert err.value.retry_after is not None
    assert log.counts["hungry"] == 2, "one load and exactly one retry"
    assert manager.records["cached"].state is ModelState.UNLOADED, "the OOM did not evict"
    assert manager.records["hungry"].state is ModelState.UNLOADED  # loadable again later, not 'error'
    # The manager keeps serving other models.
    assert await manager.run("cached", run_blob) == pytest.approx(await manager.run("cached", run_blob))
    await manager.close()


async def test_oom_during_load_succeeds_on_the_retry_after_eviction() -> None:
    manager = make_manager(
        [
            blob_spec("cached", 4, Priority.LOW, estimate_mb=5),
            blob_spec("hungry", 4, Priority.HIGH, estimate_mb=5, failure=first(1, out_of_memory)),
        ],
        budget_mb=100,
    )
    await manager.load("cached")
    await manager.load("hungry")
    assert manager.records["hungry"].state is ModelState.LOADED
    assert manager.records["cached"].state is ModelState.UNLOADED
    await manager.close()


async def test_oom_during_inference_evicts_and_retries_once() -> None:
    manager = make_manager([blob_spec("a", 2, Priority.LOW), blob_spec("b", 2, Priority.HIGH)], budget_mb=100)
    await manager.load("a")
    calls = {"n": 0}

    def flaky(model: object) -> str:
        calls["n"] += 1
        if calls["n"] == 1:
            raise out_of_memory()
        return "ok"

    assert await manager.run("b", flaky) == "ok"
    assert calls["n"] == 2
    assert manager.records["a"].state is ModelState.UNLOADED

    def always_oom(model: object) -> str:
        raise out_of_memory()

    with pytest.raises(ServiceError) as err:
        await manager.run("b", always_oom)
    assert err.value.code is ErrorCode.RESOURCE_EXHAUSTED
    assert manager.records["b"].leases == 0
    await manager.close()


async def test_inference_error_is_inference_failed_and_releases_the_lease() -> None:
    manager = make_manager([blob_spec("a", 1)], budget_mb=10)

    def bad(model: object) -> None:
        raise ValueError("shape mismatch")

    with pytest.raises(ServiceError) as err:
        await manager.run("a", bad)
    assert err.value.code is ErrorCode.INFERENCE_FAILED
    assert "shape mismatch" in err.value.message
    assert manager.records["a"].leases == 0
    await manager.close()


async def test_keep_alive_unloads_idle_model_and_minus_one_pins() -> None:
    manager = make_manager(
        [
            blob_spec("idle", 2, keep_alive_s=0.5),
            blob_spec("pinned", 2, keep_alive_s=KEEP_ALIVE_PINNED),
            blob_spec("once", 2, keep_alive_s=0),
        ],
        budget_mb=100,
    )
    manager.start()
    for name in ("pinned", "once", "idle"):
        await manager.run(name, run_blob)
    await asyncio.sleep(0.1)
    assert manager.records["once"].state is ModelState.UNLOADED, "keep-alive 0 unloads after each use"
    assert manager.records["idle"].state is ModelState.LOADED
    await asyncio.sleep(1.0)
    assert manager.records["idle"].state is ModelState.UNLOADED
    assert manager.records["pinned"].state is ModelState.LOADED
    await manager.close()


async def test_preload_loads_in_priority_order_and_records_failures() -> None:
    order: list[str] = []

    def tracking(name: str, priority: Priority, fail: bool = False):
        spec = blob_spec(name, 1, priority, failure=always(lambda: RuntimeError("no file")) if fail else None)
        inner = spec.load

        def load() -> object:
            order.append(name)
            return inner()

        spec.load = load
        return spec

    manager = make_manager(
        [tracking("low", Priority.LOW), tracking("crit", Priority.CRITICAL), tracking("bad", Priority.HIGH, True)],
        budget_mb=100,
    )
    assert manager.ready
    manager.start(preload=["low", "crit", "bad", "not_hosted"])
    assert not manager.ready
    while not manager.ready:
        await asyncio.sleep(0.01)
    assert order == ["crit", "bad", "low"]
    status = manager.preload_status
    assert status.loaded == ["crit", "low"]
    assert "no file" in status.failed["bad"]
    assert status.ignored == ["not_hosted"]
    await manager.close()


async def test_unknown_model_is_model_not_found() -> None:
    manager = make_manager([blob_spec("a", 1)], budget_mb=10)
    with pytest.raises(ServiceError) as err:
        await manager.load("nope")
    assert err.value.code is ErrorCode.MODEL_NOT_FOUND
    await manager.close()


async def test_unavailable_weights_name_the_fix_and_are_rechecked() -> None:
    present = {"ok": False}
    spec = blob_spec("pet", 1)
    spec.availability = lambda: None if present["ok"] else "run `python -m ai.models pull pet`"
    manager = make_manager([spec], budget_mb=10)
    with pytest.raises(ServiceError) as err:
        await manager.load("pet")
    assert err.value.code is ErrorCode.MODEL_NOT_AVAILABLE
    assert "ai.models pull pet" in err.value.message
    assert manager.records["pet"].state is ModelState.UNAVAILABLE
    present["ok"] = True  # weights pulled while the service runs
    await manager.load("pet")
    assert manager.records["pet"].state is ModelState.LOADED
    await manager.close()
