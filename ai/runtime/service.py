"""What a running model service holds: settings, device, metrics, manager, limits."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import Request

from ai.runtime.context import note_model
from ai.runtime.device import DeviceInfo, MemoryMeter, select_device
from ai.runtime.errors import ServiceError
from ai.runtime.executor import BoundedExecutor
from ai.runtime.images import ImageLimits
from ai.runtime.manager import ModelManager
from ai.runtime.metrics import ServiceMetrics
from ai.runtime.model_state import ModelSpec
from ai.runtime.settings import RuntimeSettings

T = TypeVar("T")


@dataclass
class ServiceRuntime:
    settings: RuntimeSettings
    device: DeviceInfo
    metrics: ServiceMetrics
    manager: ModelManager
    limits: ImageLimits
    started_at: float = field(default_factory=time.monotonic)
    health_extra: Callable[[], dict[str, Any]] | None = None

    async def infer(self, model: str, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(adapter, *args)`` on ``model`` through the manager (lease, thread, OOM)."""
        note_model(model)
        return await self.manager.run(model, fn, *args)


def build_runtime(
    settings: RuntimeSettings,
    specs: Iterable[ModelSpec],
    metrics_prefix: str,
    device: DeviceInfo | None = None,
    unknown_model: Callable[[str], ServiceError | None] | None = None,
) -> ServiceRuntime:
    device = device or select_device(settings.device)
    metrics = ServiceMetrics(metrics_prefix)
    executor = BoundedExecutor(
        settings.inference_workers, settings.max_queued_requests, "inference", retry_after_s=settings.retry_after_s
    )
    manager = ModelManager(
        specs,
        budget_mb=settings.budget_mb,
        device=device,
        executor=executor,
        metrics=metrics,
        meter=MemoryMeter(device),
        load_wait_s=settings.load_wait_s,
        retry_backoff_s=settings.load_retry_backoff_s,
        retry_after_s=settings.retry_after_s,
        unknown_model=unknown_model,
    )
    return ServiceRuntime(settings, device, metrics, manager, settings.image_limits)


def get_runtime(request: Request) -> ServiceRuntime:
    """FastAPI dependency: the runtime of the app serving this request."""
    return request.app.state.runtime
