"""Turn catalog entries into model-manager specs: resolve, load through the family,
describe for status. Shared by every service that hosts catalog models."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ai.runtime.backends import BackendOptions
from ai.runtime.catalog import CatalogEntry
from ai.runtime.device import DeviceInfo
from ai.runtime.errors import ErrorCode, ServiceError
from ai.runtime.families import ModelAdapter, get_family
from ai.runtime.model_env import model_env
from ai.runtime.model_state import ModelSpec
from ai.runtime.resolve import Resolution, resolve_weights
from ai.runtime.settings import RuntimeSettings
from ai.runtime.threads import intra_op_threads, usable_cpus
from ai.runtime.worker import WorkerHandle

RESOLVE_TTL_S = 5.0


class CachedResolver:
    """Weight resolution for one entry, re-checked at most every few seconds
    (status and health ask often; a pull while running is still noticed)."""

    def __init__(self, resolve: Callable[[], Resolution]) -> None:
        self._resolve = resolve
        self._value: Resolution | None = None
        self._at = 0.0

    def __call__(self, fresh: bool = False) -> Resolution:
        now = time.monotonic()
        if fresh or self._value is None or now - self._at > RESOLVE_TTL_S:
            self._value, self._at = self._resolve(), now
        return self._value


def spec_for_entry(entry: CatalogEntry, settings: RuntimeSettings, device: DeviceInfo) -> ModelSpec:
    family = get_family(entry.family)
    env = model_env(entry)
    batching = env.batch_limits(entry, device.is_cuda)
    options = BackendOptions(
        cache_dir=settings.cache_dir,
        tensorrt_cache_dir=settings.trt_cache,
        backend=env.backend,
        use_tensorrt=env.use_tensorrt,
        onnxruntime_spinning=settings.onnxruntime_spinning,
        max_batch_size=batching.max_batch_size,
        cpu_threads=intra_op_threads(settings.torch_threads, settings.inference_workers, usable_cpus()),
    )
    resolver = CachedResolver(lambda: resolve_weights(entry, settings.ai_models_path, settings.hf_home, env.model_path))

    def availability() -> str | None:
        found = resolver(fresh=True)
        return None if found.available else found.message

    def load() -> ModelAdapter | WorkerHandle:
        found = resolver(fresh=True)
        if family is None or found.path is None:
            raise ServiceError(ErrorCode.MODEL_NOT_AVAILABLE, found.message or "weights missing", sensitive=True)
        if entry.isolation == "process":
            return WorkerHandle.start(entry, found.path, device, options, family.__module__)
        adapter = family(entry, found.path, device, options)
        adapter.load()
        return adapter

    def unload(handle: ModelAdapter | WorkerHandle) -> None:
        if isinstance(handle, WorkerHandle):
            handle.close()
        else:
            handle.unload()

    def describe() -> dict[str, Any]:
        found = resolver()
        return {
            "display_name": entry.display_name,
            "category": entry.category,
            "family": entry.family,
            "path": str(found.path) if found.path else entry.source,
            "available": found.available,
            "demo_weights": found.demo,
            "isolation": entry.isolation,
        }

    return ModelSpec(
        name=entry.name,
        priority=entry.priority_level,
        estimated_mb=entry.vram_mb,
        load=load,
        unload=unload,
        # A worker imports its libraries itself; this process need not hold them.
        prepare=(lambda: family.prepare(device)) if family and entry.isolation == "thread" else None,
        keep_alive_s=settings.keep_alive_for(entry.name, entry.keep_alive_s),
        availability=availability,
        disabled_reason=None if family else f"adapter family {entry.family!r} is not part of this build yet",
        describe=describe,
        batching=batching,
    )
