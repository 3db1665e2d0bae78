"""The backend's own /health, /ready and /metrics."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, Field

from ai.runtime.conventions import security_status
from backend.enrichment_client.policy import BreakerState
from backend.state import BackendState, get_state

router = APIRouter(tags=["service"])


class ServiceLink(BaseModel):
    url: str
    circuit: str


class BackendHealth(BaseModel):
    status: Literal["healthy", "degraded", "unhealthy"]
    service: str
    uptime_seconds: float
    database: str
    enrichment: dict[str, ServiceLink]
    services: dict[str, ServiceLink] = Field(
        default_factory=dict, description="The pipeline's other services: detector, florence, clip, llm"
    )
    security: dict[str, Any] = Field(default_factory=dict, description="Auth mode, key count, warnings")


@router.get("/health", response_model=BackendHealth)
async def health(request: Request, state: BackendState = Depends(get_state)) -> BackendHealth:
    """Liveness plus the state of the database and of each service's circuit."""
    try:
        await asyncio.to_thread(state.store.ping)
        database = "ok"
    except Exception as exc:
        database = f"error: {type(exc).__name__}: {exc}"
    links = {
        name: ServiceLink(url=client.base_url, circuit=client.breaker.state.value)
        for name, client in state.client.services.items()
    }
    others = {
        name: ServiceLink(url=client.base_url, circuit=client.breaker.state.value)
        for name, client in state.pipeline_services.items()
    }
    if database != "ok":
        status = "unhealthy"
    elif any(link.circuit != BreakerState.CLOSED.value for link in [*links.values(), *others.values()]):
        status = "degraded"
    else:
        status = "healthy"
    return BackendHealth(
        status=status,
        service=state.settings.service_name,
        uptime_seconds=round(time.monotonic() - state.started_at, 1),
        database=database,
        enrichment=links,
        services=others,
        security=security_status(request),
    )


@router.get("/ready")
async def ready(state: BackendState = Depends(get_state)) -> JSONResponse:
    """Ready once the database is usable; enrichment services may come and go (results are PARTIAL)."""
    ok = state.database_error is None
    return JSONResponse({"ready": ok, "database": state.database_error or "ok"}, status_code=200 if ok else 503)


@router.get("/metrics", response_class=Response)
async def metrics(state: BackendState = Depends(get_state)) -> Response:
    return Response(state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
