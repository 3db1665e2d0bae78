"""What a running model service holds: settings, device, metrics, the model manager
and one batcher per model; and the one way to run a model (through its batcher)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from ai.runtime.admission import PixelAdmission
from ai.runtime.batcher import Batcher, Inference, ItemResult
from ai.runtime.context import note_model
from ai.runtime.device import DeviceInfo, MemoryMeter, select_device
from ai.runtime.errors import ServiceError
from ai.runtime.executor import BoundedExecutor
from ai.runtime.images import ImageLimits
from ai.runtime.manager import ModelManager
from ai.runtime.metrics import ServiceMetrics
from ai.runtime.model_state import ModelSpec
from ai.runtime.settings import RuntimeSettings


@dataclass
class ServiceRuntime:
    settings: RuntimeSettings
    device: DeviceInfo
    metrics: ServiceMetrics
    manager: ModelManager
    batchers: dict[str, Batcher]
    limits: ImageLimits
    admission: PixelAdmission
    started_at: float = field(default_factory=time.monotonic)
    health_extra: Callable[[], dict[str, Any]] | None = None
    service: Any = None  # the ModelService this runtime serves (its own state lives there)
    on_close: list[Callable[[], None]] = field(default_factory=list)  # run when the service stops

    def require(self, model: str) -> None:
        """Refuse a model this service does not host (404, or the service's own 409)."""
        self.manager.record(model)

    async def infer(self, model: str, items: list[Any]) -> list[ItemResult]:
        """Run one request's inputs through ``model``'s batcher: one result per input,
        an :class:`Inference` or the error that input met."""
        self.require(model)
        note_model(model)
        return await self.batchers[model].submit(items)

    async def infer_one(self, model: str, item: Any) -> Inference[Any]:
        """One input through ``model``; its error is raised."""
        result = (await self.infer(model, [item]))[0]
        if isinstance(result, ServiceError):
            raise result
        return result

    async def close(self) -> None:
        for batcher in self.batchers.values():
            batcher.close()
        for close in self.on_close:
            close()
        await self.manager.close()


def _timed(run_batch: Callable[[Any, list[Any]], list[Any]]) -> Callable[[Any, list[Any]], tuple[list[Any], float]]:
    """The forward pass and its seconds, measured on the inference thread (one clock)."""

    def timed(handle: Any, items: list[Any]) -> tuple[list[Any], float]:
        started = time.perf_counter()
        outputs = run_batch(handle, items)
        return outputs, time.perf_counter() - started

    return timed


def build_runtime(
    settings: RuntimeSettings,
    specs: Iterable[ModelSpec],
    metrics_prefix: str,
    device: DeviceInfo | None = None,
    unknown_model: Callable[[str], ServiceError | None] | None = None,
) -> ServiceRuntime:
    specs = list(specs)
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

    def runner(spec: ModelSpec) -> Callable[[list[Any]], Any]:
        timed = _timed(spec.run_batch)
        return lambda items: manager.run(spec.name, timed, items)

    batchers = {
        spec.name: Batcher(
            spec.name,
            runner(spec),
            spec.batching,
            concurrency=settings.inference_workers,
            max_queued=settings.max_queued_requests,
            metrics=metrics,
            retry_after_s=settings.retry_after_s,
        )
        for spec in specs
    }
    admission = PixelAdmission(
        int(settings.max_inflight_megapixels * 1_000_000),
        settings.admission_wait_s,
        settings.retry_after_s,
        metrics.pixels_in_flight,
        metrics.admission_refusals,
    )
    return ServiceRuntime(settings, device, metrics, manager, batchers, settings.image_limits, admission)


def get_runtime(request: Request) -> ServiceRuntime:
    """FastAPI dependency: the runtime of the app serving this request."""
    return request.app.state.runtime
