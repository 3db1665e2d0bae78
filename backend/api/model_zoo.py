"""The Model Zoo API: what every model of the fleet is doing (enrichment, detector,
Florence-2, CLIP), and the enrichment models' latency history."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Query

from ai.contracts.model_zoo import LatencyHistory, ZooModel, ZooModels, ZooStatus
from ai.runtime.conventions import ERROR_RESPONSES
from ai.runtime.errors import ErrorCode, ServiceError
from backend.model_zoo.aggregate import zoo_status
from backend.model_zoo.fleet import fleet_status, placements
from backend.state import BackendState, get_state
from backend.storage.history import bucketize, window_start

router = APIRouter(prefix="/api/system", tags=["model zoo"])


async def _zoo(state: BackendState) -> ZooModels:
    return (await fleet_status(state)).zoo


def _unknown(name: str, known: list[str]) -> ServiceError:
    return ServiceError(
        ErrorCode.MODEL_NOT_FOUND, f"unknown model {name!r}", details={"model": name, "available_models": sorted(known)}
    )


@router.get("/models", response_model=ZooModels)
async def models(state: BackendState = Depends(get_state)) -> ZooModels:
    """Every model of the fleet: status, memory, path, service; budgets summed over services."""
    return await _zoo(state)


@router.get("/models/{name}", response_model=ZooModel, responses=ERROR_RESPONSES)
async def model(name: str, state: BackendState = Depends(get_state)) -> ZooModel:
    known = [p.entry.name for p in placements(state)]
    if name not in known:
        raise _unknown(name, known)
    return next(m for m in (await _zoo(state)).models if m.name == name)


@router.get("/model-zoo/status", response_model=ZooStatus)
async def status(state: BackendState = Depends(get_state)) -> ZooStatus:
    """Compact view for a UI: by category, disabled models last, with totals."""
    return zoo_status(await _zoo(state))


@router.get("/model-zoo/latency/history", response_model=LatencyHistory, responses=ERROR_RESPONSES)
async def latency_history(
    model: str = Query(..., description="Model name, e.g. pose_estimator"),
    since: int = Query(60, ge=1, le=1440, description="Minutes of history"),
    bucket_seconds: int = Query(60, ge=10, le=3600, description="Bucket size in seconds"),
    state: BackendState = Depends(get_state),
) -> LatencyHistory:
    """Per-bucket avg, p50, p95 and count of the model's successful calls; empty buckets are null.
    Only enrichment calls are recorded, so only enrichment models have a history."""
    entry = state.client.router.entries.get(model)
    if entry is None:
        raise _unknown(model, list(state.client.router.entries))
    return await latency_of(state, model, entry.display_name, since, bucket_seconds)


async def latency_of(
    state: BackendState, key: str, display_name: str, since: int, bucket_seconds: int
) -> LatencyHistory:
    """The recorded latency of ``key`` (a model, or a pipeline stage) in buckets."""
    await state.recorder.flush()  # include what was measured a moment ago
    now = time.time()
    samples = await asyncio.to_thread(state.store.successes_since, key, window_start(now, since, bucket_seconds))
    snapshots = bucketize(samples, now, since, bucket_seconds)
    return LatencyHistory(
        model_name=key,
        display_name=display_name,
        snapshots=snapshots,
        window_minutes=since,
        bucket_seconds=bucket_seconds,
        has_data=any(s.stats is not None for s in snapshots),
        timestamp=datetime.now(UTC),
    )
