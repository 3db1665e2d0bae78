"""Threads per torch call: the automatic choice, CPU quotas, and keeping the choice
when a library (Ultralytics does) changes it during a load or a call."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from ai.runtime import threads
from ai.runtime.model_state import ModelSpec, Priority
from ai.runtime.threads import configure_torch_threads, intra_op_threads, usable_cpus
from tests.runtime.manager_factory import make_manager
from tests.support.server import LiveServer
from tests.support.torch_models import Blob, blob_spec, kept_torch_threads, torch_threads_on_fresh_thread
from tests.support.toy_service import toy_app


@pytest.fixture(autouse=True)
def restore_torch_threads() -> Iterator[None]:
    with kept_torch_threads():
        yield


@pytest.mark.parametrize(
    ("requested", "workers", "cpus", "expected"),
    [
        (0, 2, 16, 5),  # 3 teams of 5 fit 16 CPUs
        (0, 1, 8, 4),
        (0, 2, 2, 1),  # never zero
        (0, 4, 3, 1),
        (6, 2, 2, 6),  # an explicit TORCH_THREADS wins, even oversubscribed
    ],
)
def test_auto_threads_share_the_cpus_among_workers_and_the_loader(
    requested: int, workers: int, cpus: int, expected: int
) -> None:
    assert intra_op_threads(requested, workers, cpus) == expected


def test_a_cgroup_cpu_quota_caps_the_usable_cpus(tmp_path: Path) -> None:
    cpu_max, v1 = tmp_path / "cpu.max", tmp_path / "v1"
    affinity = usable_cpus(tmp_path / "missing", tmp_path / "missing")
    cpu_max.write_text("max 100000\n")
    assert usable_cpus(cpu_max, v1) == affinity
    cpu_max.write_text("150000 100000\n")  # --cpus 1.5
    assert usable_cpus(cpu_max, v1) == 1
    cpu_max.write_text(f"{(affinity + 4) * 100000} 100000\n")  # a quota above the affinity
    assert usable_cpus(cpu_max, v1) == affinity
    cpu_max.write_text("garbage")
    assert usable_cpus(cpu_max, v1) == affinity


def test_a_cgroup_v1_quota_caps_the_usable_cpus_too(tmp_path: Path) -> None:
    v1 = tmp_path / "cpu"
    v1.mkdir()
    (v1 / "cpu.cfs_period_us").write_text("100000\n")
    (v1 / "cpu.cfs_quota_us").write_text("-1\n")  # no quota
    affinity = usable_cpus(tmp_path / "no-v2", tmp_path / "missing")
    assert usable_cpus(tmp_path / "no-v2", v1) == affinity
    (v1 / "cpu.cfs_quota_us").write_text("100000\n")  # --cpus 1
    assert usable_cpus(tmp_path / "no-v2", v1) == 1


async def test_the_manager_restores_the_count_after_a_load_and_a_call_that_changed_it() -> None:
    configure_torch_threads(requested=1, inference_workers=1)

    def meddling_load() -> Blob:
        torch.set_num_threads(3)  # what Ultralytics does when it selects the CPU
        return Blob(1)

    def meddling_call(_model: Blob) -> int:
        count = torch.get_num_threads()
        torch.set_num_threads(3)
        return count

    spec = ModelSpec(name="yolo", priority=Priority.MEDIUM, estimated_mb=1, load=meddling_load)
    manager = make_manager([spec], budget_mb=100, workers=1)
    await manager.load("yolo")
    assert torch_threads_on_fresh_thread() == 1
    assert await manager.run("yolo", meddling_call) == 1
    assert await manager.run("yolo", meddling_call) == 1  # the same worker thread, put back
    await manager.close()


def test_a_service_applies_torch_threads_when_it_starts() -> None:
    torch.set_num_threads(3)
    server = LiveServer(toy_app([blob_spec("m", 1)], TORCH_THREADS=2, INFERENCE_WORKERS=1)).start()
    try:
        assert threads._chosen == 2
        assert torch_threads_on_fresh_thread() == 2
    finally:
        server.stop()
