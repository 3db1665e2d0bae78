"""Build a ModelManager over test specs, on the CPU, with the real executor and meter."""

from __future__ import annotations

from ai.runtime.device import DeviceInfo, MemoryMeter
from ai.runtime.executor import BoundedExecutor
from ai.runtime.manager import ModelManager
from ai.runtime.metrics import ServiceMetrics
from ai.runtime.model_state import ModelSpec
from tests.support.torch_models import LiveTensorMeter

CPU = DeviceInfo("cpu", None, "cpu", "cpu")


def make_manager(
    specs: list[ModelSpec],
    budget_mb: float,
    *,
    load_wait_s: float = 5.0,
    retry_backoff_s: float = 30.0,
    workers: int = 4,
    max_queued: int = 256,
    rss: bool = False,
) -> ModelManager:
    """``rss=True`` measures process RSS like production on CPU; else live tensor bytes."""
    return ModelManager(
        specs,
        budget_mb=budget_mb,
        device=CPU,
        executor=BoundedExecutor(workers, max_queued, "test-infer"),
        metrics=ServiceMetrics("test"),
        meter=MemoryMeter(CPU) if rss else LiveTensorMeter(),  # type: ignore[arg-type]
        load_wait_s=load_wait_s,
        retry_backoff_s=retry_backoff_s,
        retry_after_s=2,
    )
