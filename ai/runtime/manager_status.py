"""The model manager's state as the ``/models/status`` contract."""

from __future__ import annotations

from ai.contracts.models import LoadedModel, ManagerStatus, ModelInfo, ModelStatus, PreloadStatus
from ai.runtime.context import sees_internals
from ai.runtime.model_state import ModelRecord, ModelState, Priority
from ai.runtime.redact import for_caller


def describe_model(record: ModelRecord, memory_measure: str) -> ModelStatus:
    """The model's status as the current caller may see it: the weight path and
    library errors only for admin keys and local callers."""
    info = ModelInfo.model_validate(record.spec.describe())
    if not sees_internals():
        info.path = None
    return ModelStatus(
        **info.model_dump(),
        name=record.name,
        state=record.state.value,
        loaded=record.state is ModelState.LOADED,
        priority=record.priority.name,
        vram_mb=round(record.accounted_mb, 1),
        estimated_mb=record.spec.estimated_mb,
        measured_mb=None if record.measured_mb is None else round(record.measured_mb, 1),
        memory_measure=memory_measure,
        last_used=record.last_used_at,
        load_count=record.load_count,
        leases=record.leases,
        keep_alive_s=record.spec.keep_alive_s,
        backend=getattr(record.handle, "backend", None) if record.handle is not None else None,
        error=for_caller(record.error),
        freed_mb=None if record.freed_mb is None else round(record.freed_mb, 1),
        worker_pid=getattr(record.handle, "pid", None),
        max_batch_size=record.spec.batching.max_batch_size,
        max_queue_delay_ms=record.spec.batching.max_queue_delay_ms,
    )


def configuration_problems(records: list[ModelRecord], budget_mb: float) -> list[str]:
    """What can never work as configured: a model larger than the whole budget, or a
    CRITICAL model that cannot load. ``/health`` reports these as degraded."""
    problems = []
    for record in records:
        if record.state is ModelState.DISABLED:
            continue
        if record.reservation_mb > budget_mb:
            problems.append(
                f"{record.name}: needs ~{record.reservation_mb:.0f} MB but the whole budget is "
                f"{budget_mb:.0f} MB, so it can never load; raise the budget or disable it"
            )
        if record.priority is Priority.CRITICAL and record.state in (ModelState.ERROR, ModelState.UNAVAILABLE):
            problems.append(f"{record.name}: CRITICAL model cannot load: {record.error}")
    return problems


def preload_for_caller(preload: PreloadStatus) -> PreloadStatus:
    """Preload failures carry load errors (weight paths): redacted for most callers."""
    return preload.model_copy(update={"failed": {name: for_caller(e) or "" for name, e in preload.failed.items()}})


def describe_manager(
    records: list[ModelRecord],
    *,
    budget_mb: float,
    used_mb: float,
    device: str,
    memory_measure: str,
    preload: PreloadStatus,
) -> ManagerStatus:
    used, budget = used_mb, budget_mb
    return ManagerStatus(
        device=device,
        memory_measure=memory_measure,
        vram_budget_mb=round(budget, 1),
        vram_used_mb=round(used, 1),
        vram_available_mb=round(max(0.0, budget - used), 1),
        vram_utilization_percent=round(100.0 * used / budget, 1) if budget else 0.0,
        loaded_models=[
            LoadedModel(
                name=r.name, vram_mb=round(r.accounted_mb, 1), priority=r.priority.name, last_used=r.last_used_at
            )
            for r in records
            if r.state is ModelState.LOADED
        ],
        registered_models=[describe_model(r, memory_measure) for r in records],
        pending_loads=[r.name for r in records if r.state is ModelState.LOADING],
        preload=preload_for_caller(preload),
    )
