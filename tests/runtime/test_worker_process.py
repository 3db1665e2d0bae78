"""Manager rule 9: a model with ``isolation = "process"`` runs in a worker process of
its own. Its memory is the worker's; a worker killed mid-request fails that request and
the next one gets a new worker; an idle worker exits and all its memory goes with it."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import numpy as np
import psutil
import pytest
from PIL import Image

from ai.models.demo import write_demo_weights
from ai.runtime.catalog import CatalogEntry
from ai.runtime.errors import ServiceError
from ai.runtime.hosting import spec_for_entry
from ai.runtime.model_state import ModelState
from ai.runtime.settings import RuntimeSettings
from ai.runtime.worker import WorkerExited
from tests.runtime.manager_factory import CPU, make_manager
from tests.support.toy.family import ToyEmbed

IMAGES = [Image.new("RGB", (32, 32), colour) for colour in ("red", "green", "blue")]


def entry(keep_alive_s: float, pass_ms: float = 0.0, isolation: str = "process") -> CatalogEntry:
    return CatalogEntry(
        name="toy_embedder",
        service="toy",
        family="toy_embed",
        source="package:tests",
        vram_mb=10,
        priority="MEDIUM",
        license="MIT",
        batching={"max_batch_size": 8, "max_queue_delay_ms": 0},
        options={"pass_ms": pass_ms},
        keep_alive_s=keep_alive_s,
        isolation=isolation,
    )


def manager_for(row: CatalogEntry, models: Path):  # type: ignore[no-untyped-def]
    write_demo_weights(row, models)
    settings = RuntimeSettings(AI_MODELS_PATH=str(models), MODEL_KEEP_ALIVE_SECONDS=str(row.keep_alive_s))
    return make_manager([spec_for_entry(row, settings, CPU)], budget_mb=4096, rss=True)


def run(manager, images: list[Image.Image]) -> list[np.ndarray]:  # type: ignore[no-untyped-def]
    return manager.run("toy_embedder", lambda handle, items: handle.run_batch(items), images)


def in_process(models: Path) -> list[np.ndarray]:
    adapter = ToyEmbed(
        entry(-1, isolation="thread"), next((models / "model-zoo" / "toy_embedder").glob("*.pt")), CPU, None
    )  # type: ignore[arg-type]
    adapter.load()
    return adapter.run_batch(IMAGES)


async def test_the_worker_answers_what_the_model_answers_in_process_and_reports_its_own_memory(tmp_path: Path) -> None:
    manager = manager_for(entry(-1), tmp_path)
    try:
        outputs = await run(manager, IMAGES)
        record = manager.records["toy_embedder"]
        worker = psutil.Process(record.handle.pid)
        assert worker.pid != os.getpid() and worker.is_running()
        assert record.measured_mb == pytest.approx(record.handle.memory_mb)
        assert 20 < record.measured_mb < worker.memory_info().rss / 2**20 + 50, "the worker's RSS, not this process's"
        status = manager.model_status(record)
        assert status.worker_pid == worker.pid and status.isolation == "process" and "worker" in (status.backend or "")
        for ours, theirs in zip(outputs, in_process(tmp_path), strict=True):
            np.testing.assert_allclose(ours, theirs, atol=1e-6)
    finally:
        await manager.close()


async def test_a_worker_killed_mid_request_fails_that_request_and_the_next_gets_a_new_worker(tmp_path: Path) -> None:
    manager = manager_for(entry(-1, pass_ms=1500), tmp_path)
    try:
        await manager.load("toy_embedder")
        first = manager.records["toy_embedder"].handle.pid
        request = asyncio.create_task(run(manager, IMAGES[:1]))
        await asyncio.sleep(0.5)
        os.kill(first, signal.SIGKILL)
        with pytest.raises(WorkerExited, match="killed by SIGKILL") as failed:
            await request
        assert failed.value.code.value == "INFERENCE_FAILED"
        record = manager.records["toy_embedder"]
        assert record.state is ModelState.ERROR and "SIGKILL" in (record.error or "")
        assert manager.used_mb == 0, "a dead worker holds nothing"
        [answer] = await run(manager, IMAGES[:1])
        assert answer.shape == (4,) and manager.records["toy_embedder"].handle.pid != first
        assert manager.records["toy_embedder"].state is ModelState.LOADED
    finally:
        await manager.close()


async def test_an_idle_worker_exits_and_its_memory_is_returned(tmp_path: Path) -> None:
    manager = manager_for(entry(1.0), tmp_path)
    manager.start()
    try:
        await run(manager, IMAGES)
        record = manager.records["toy_embedder"]
        pid, held = record.handle.pid, record.measured_mb
        assert psutil.pid_exists(pid) and manager.used_mb == pytest.approx(held)
        for _ in range(60):
            await asyncio.sleep(0.1)
            if record.state is ModelState.UNLOADED and not record.unloading:
                break
        assert record.state is ModelState.UNLOADED, "unloaded after its 1 s keep-alive"
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        assert record.freed_mb == pytest.approx(held) and manager.used_mb == 0
    finally:
        await manager.close()


async def test_a_worker_that_cannot_load_is_a_load_failure_with_its_reason(tmp_path: Path) -> None:
    manager = manager_for(entry(-1), tmp_path)
    (next((tmp_path / "model-zoo" / "toy_embedder").glob("*.pt"))).write_bytes(b"not a checkpoint")
    try:
        with pytest.raises(ServiceError, match="could not load") as failed:
            await manager.load("toy_embedder")
        assert failed.value.code.value == "MODEL_LOAD_FAILED"
        assert manager.records["toy_embedder"].state is ModelState.ERROR
    finally:
        await manager.close()
