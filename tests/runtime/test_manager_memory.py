"""Budget, leases and eviction: the model manager's memory rules."""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ai.runtime.errors import ErrorCode, ServiceError
from ai.runtime.model_state import ModelState, Priority
from tests.runtime.manager_factory import make_manager
from tests.support.torch_models import LoadLog, blob_spec, run_blob

ROOT = Path(__file__).resolve().parents[2]


async def test_budget_never_exceeded_under_50_concurrent_requests_over_more_models_than_fit() -> None:
    log = LoadLog()
    # Short keep-alives let idle important models be evicted, so the budget churns.
    specs = [blob_spec(f"m{i}", 6, Priority(i % 4), estimate_mb=10, keep_alive_s=0.05, log=log) for i in range(8)]
    manager = make_manager(specs, budget_mb=40, load_wait_s=10, rss=True)
    peak = 0.0
    stop = asyncio.Event()

    async def watch() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, manager.used_mb, manager.status().vram_used_mb)
            await asyncio.sleep(0.002)

    rng = random.Random(7)
    names = [rng.choice(specs).name for _ in range(50)]
    watcher = asyncio.create_task(watch())
    results = await asyncio.gather(*(manager.run(name, run_blob, 1.0, 0.01) for name in names), return_exceptions=True)
    stop.set()
    await watcher
    await manager.close()

    failures = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(f, ServiceError) and f.code is ErrorCode.RESOURCE_EXHAUSTED for f in failures), failures
    assert len(failures) <= 5, f"{len(failures)} of 50 requests were refused: {failures[:3]}"
    assert peak <= 40.0, f"used {peak:.1f} MB of a 40 MB budget"
    assert sum(log.counts.values()) > 4, "eviction never happened: the test did not exercise the budget"


async def test_leased_model_is_never_evicted() -> None:
    manager = make_manager(
        [blob_spec("held", 6, Priority.LOW, estimate_mb=10), blob_spec("other", 6, Priority.CRITICAL, estimate_mb=10)],
        budget_mb=15,
        load_wait_s=0.3,
    )
    async with manager.use("held"):
        with pytest.raises(ServiceError) as err:
            await manager.load("other")
        assert err.value.code is ErrorCode.RESOURCE_EXHAUSTED
        assert err.value.retry_after is not None
        assert manager.records["held"].state is ModelState.LOADED
    # Once the lease ends the same request succeeds by evicting the LOW model.
    await manager.load("other")
    assert manager.records["held"].state is ModelState.UNLOADED
    await manager.close()


async def test_low_request_cannot_evict_busy_or_recently_used_critical_model() -> None:
    manager = make_manager(
        [
            blob_spec("threat", 6, Priority.CRITICAL, estimate_mb=10, keep_alive_s=60),
            blob_spec("depth", 6, Priority.LOW, estimate_mb=10),
        ],
        budget_mb=15,
        load_wait_s=0.2,
    )
    await manager.run("threat", run_blob)  # recently used, not leased
    with pytest.raises(ServiceError) as err:
        await manager.load("depth")
    assert err.value.code is ErrorCode.RESOURCE_EXHAUSTED
    assert manager.records["threat"].state is ModelState.LOADED

    async with manager.use("threat"):  # busy
        with pytest.raises(ServiceError):
            await manager.load("depth")
    assert manager.records["threat"].state is ModelState.LOADED
    await manager.close()


async def test_critical_model_idle_past_its_keep_alive_can_be_evicted_by_low_request() -> None:
    manager = make_manager(
        [
            blob_spec("threat", 6, Priority.CRITICAL, estimate_mb=10, keep_alive_s=0.1),
            blob_spec("depth", 6, Priority.LOW, estimate_mb=10),
        ],
        budget_mb=15,
        load_wait_s=0.2,
    )
    await manager.run("threat", run_blob)
    await asyncio.sleep(0.2)  # the keep-alive loop is not running: only eviction can unload it
    await manager.load("depth")
    assert manager.records["threat"].state is ModelState.UNLOADED
    assert manager.records["depth"].state is ModelState.LOADED
    await manager.close()


async def test_eviction_takes_lowest_priority_then_least_recently_used() -> None:
    specs = [
        blob_spec("high", 4, Priority.HIGH, estimate_mb=5),
        blob_spec("low_old", 4, Priority.LOW, estimate_mb=5),
        blob_spec("low_new", 4, Priority.LOW, estimate_mb=5),
        blob_spec("incoming", 4, Priority.MEDIUM, estimate_mb=5),
    ]
    manager = make_manager(specs, budget_mb=16)
    for name in ("high", "low_old", "low_new"):
        await manager.run(name, run_blob)
    await manager.load("incoming")
    states = {n: r.state for n, r in manager.records.items()}
    assert states["low_old"] is ModelState.UNLOADED
    assert states["low_new"] is ModelState.LOADED
    assert states["high"] is ModelState.LOADED
    await manager.close()


async def test_model_larger_than_whole_budget_fails_at_once_and_evicts_nothing() -> None:
    manager = make_manager(
        [blob_spec("small", 4, Priority.LOW, estimate_mb=5), blob_spec("huge", 4, Priority.CRITICAL, estimate_mb=500)],
        budget_mb=50,
        load_wait_s=30,
    )
    await manager.load("small")
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(ServiceError) as err:
        await manager.load("huge")
    assert loop.time() - started < 1.0, "it waited instead of failing at once"
    assert err.value.code is ErrorCode.RESOURCE_EXHAUSTED
    assert "whole budget" in err.value.message
    assert manager.records["small"].state is ModelState.LOADED
    assert manager.records["huge"].state is ModelState.UNLOADED
    await manager.close()


# Process RSS is the production meter on CPU, but within the test session other tests'
# threads and freed heap move it; these two read it in a fresh interpreter.
_RSS_SCRIPT = """
import asyncio, json
from tests.runtime.manager_factory import make_manager
from tests.support.torch_models import blob_spec

async def main():
    manager = make_manager([blob_spec("m", 32, estimate_mb=100)], budget_mb=200, rss=True)
    await manager.load("m")
    loaded = manager.status()
    row = loaded.registered_models[0]
    unloaded = await manager.unload("m")
    after = manager.status()
    await manager.close()
    print(json.dumps({
        "estimated_mb": row.estimated_mb, "measured_mb": row.measured_mb, "vram_mb": row.vram_mb,
        "memory_measure": row.memory_measure, "used_loaded": loaded.vram_used_mb,
        "state": unloaded.state, "freed_mb": unloaded.freed_mb, "used_after": after.vram_used_mb,
    }))

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def rss_reading() -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _RSS_SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_measured_memory_replaces_the_estimate_after_load(rss_reading: dict[str, Any]) -> None:
    assert rss_reading["estimated_mb"] == 100
    assert rss_reading["measured_mb"] is not None and 24 < rss_reading["measured_mb"] < 64, rss_reading
    assert rss_reading["vram_mb"] == rss_reading["measured_mb"]
    assert rss_reading["memory_measure"] == "process_rss"
    assert rss_reading["used_loaded"] > 0


def test_unload_returns_memory_and_status_shows_it(rss_reading: dict[str, Any]) -> None:
    assert rss_reading["state"] == "unloaded"
    assert rss_reading["freed_mb"] is not None and rss_reading["freed_mb"] > 24, rss_reading
    assert rss_reading["used_after"] == 0
