"""The Model Zoo API: what every enrichment model is doing, and its latency history."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Query

from ai.contracts.model_zoo import LatencyHistory, ZooModel, ZooModels, ZooStatus
from ai.runtime.conventions import ERROR_RESPONSES
from ai.runtime.errors import ErrorCode, ServiceError
from backend.model_zoo.aggregate import fetch_statuses, zoo_models, zoo_status
from backend.state import BackendState, get_state
from backend.storage.history import bucketize, window_start

router = APIRouter(prefix="/api/system", tags=["model zoo"])


async def _zoo(state: BackendState) -> ZooModels:
    client = state.client
    headers = {name: service.auth_headers() for name, service in client.services.items()}
    statuses = await fetch_statuses(client.http, client.router.urls, state.settings.status_timeout_s, headers)
    return zoo_models(client.router, statuses)


def _unknown(name: str, state: BackendState) -> ServiceError:
    return ServiceError(
        ErrorCode.MODEL_NOT_FOUND,
        f"unknown model {name!r}",
        details={"model": name, "available_models": sorted(state.client.router.entries)},
    )


@router.get("/models", response_model=ZooModels)
async def models(state: BackendState = Depends(get_state)) -> ZooModels:
    """Every enrichment model: status, memory, path, service; budgets summed over services."""
    return await _zoo(state)


@router.get("/models/{name}", response_model=ZooModel, responses=ERROR_RESPONSES)
async def model(name: str, state: BackendState = Depends(get_state)) -> ZooModel:
    if name not in state.client.router.entries:
        raise _unknown(name, state)
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
    """Per-bucket avg, p50, p95 and count of the model's successful calls; empty buckets are null."""
    entry = state.client.router.entries.get(model)
    if entry is None:
        raise _unknown(model, state)
    await state.recorder.flush()  # include what was measured a moment ago
    now = time.time()
    samples = await asyncio.to_thread(state.store.successes_since, model, window_start(now, since, bucket_seconds))
    snapshots = bucketize(samples, now, since, bucket_seconds)
    return LatencyHistory(
        model_name=model,
        display_name=entry.display_name,
        snapshots=snapshots,
        window_minutes=since,
        bucket_seconds=bucket_seconds,
        has_data=any(s.stats is not None for s in snapshots),
        timestamp=datetime.now(UTC),
    )
