"""Endpoints every model service has: health, readiness, metrics, model management."""

from __future__ import annotations

import functools
import time

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from ai.contracts.health import HealthResponse, PreloadRequest, ReadyResponse
from ai.contracts.models import ManagerStatus, ModelStatus, PreloadStatus
from ai.runtime.conventions import ERROR_RESPONSES, security_status
from ai.runtime.device import device_memory_used_gb, gpu_available
from ai.runtime.manager_status import configuration_problems, preload_for_caller
from ai.runtime.model_state import ModelState
from ai.runtime.redact import for_caller
from ai.runtime.security.keys import Scope
from ai.runtime.security.policy import requires
from ai.runtime.service import ServiceRuntime, get_runtime

router = APIRouter()
# Loading, unloading and preloading change what the service holds: admin keys only.
admin_post = functools.partial(
    router.post, responses=ERROR_RESPONSES, tags=["models"], openapi_extra=requires(Scope.ADMIN)
)

CANNOT_SERVE = (ModelState.ERROR, ModelState.UNAVAILABLE)


def health_of(runtime: ServiceRuntime) -> HealthResponse:
    records = [r for r in runtime.manager.records.values() if r.state is not ModelState.DISABLED]
    failing = [r for r in records if r.state in CANNOT_SERVE]
    problems = [f"{r.name}: {r.state.value}: {r.error}" for r in failing]
    records_all = list(runtime.manager.records.values())
    problems += [p for p in configuration_problems(records_all, runtime.manager.budget_mb) if p not in problems]
    if records and len(failing) == len(records):
        status = "unhealthy"
    elif problems:
        status = "degraded"
    else:
        status = "healthy"
    statuses = {r.name: runtime.manager.model_status(r) for r in runtime.manager.records.values()}
    return HealthResponse(
        status=status,
        service=runtime.settings.service_name,
        models_loaded={name: s.loaded for name, s in statuses.items()},
        demo_weights={name: s.demo_weights for name, s in statuses.items()},
        gpu_available=gpu_available(),
        gpu_memory_used_gb=round(device_memory_used_gb(runtime.device), 3),
        uptime_seconds=round(time.monotonic() - runtime.started_at, 1),
        device=runtime.device.torch_device,
        ready=runtime.manager.ready,
        problems=[for_caller(p) or "" for p in problems],
    )


@router.get("/health", response_model=HealthResponse, tags=["service"], openapi_extra=requires(Scope.PUBLIC))
async def health(request: Request, runtime: ServiceRuntime = Depends(get_runtime)) -> HealthResponse:
    """Liveness with detail; answers at once even while a model loads."""
    response = health_of(runtime)
    response.security = security_status(request)
    if runtime.health_extra is not None:
        for key, value in runtime.health_extra().items():
            setattr(response, key, value)
    return response


@router.get(
    "/ready",
    response_model=ReadyResponse,
    responses={503: {"model": ReadyResponse}},
    tags=["service"],
    openapi_extra=requires(Scope.PUBLIC),
)
async def ready(runtime: ServiceRuntime = Depends(get_runtime)) -> JSONResponse:
    """200 once the preloaded models are loaded or have failed with a recorded error."""
    body = ReadyResponse(ready=runtime.manager.ready, preload=preload_for_caller(runtime.manager.preload_status))
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if body.ready else 503)


@router.get("/metrics", tags=["service"], response_class=Response)
async def metrics(runtime: ServiceRuntime = Depends(get_runtime)) -> Response:
    runtime.metrics.gpu_memory_used_gb.set(device_memory_used_gb(runtime.device))
    return Response(runtime.metrics.render(), media_type=CONTENT_TYPE_LATEST)


@router.get("/models/status", response_model=ManagerStatus, tags=["models"])
async def models_status(runtime: ServiceRuntime = Depends(get_runtime)) -> ManagerStatus:
    return runtime.manager.status()


@admin_post("/models/preload", response_model=PreloadStatus)
async def models_preload(body: PreloadRequest, runtime: ServiceRuntime = Depends(get_runtime)) -> PreloadStatus:
    """Load several models now, in priority order; failures are listed, not raised."""
    for name in body.models:
        runtime.manager.record(name)  # unknown names are a 404, not a silent skip
    return preload_for_caller(await runtime.manager.preload(body.models))


@admin_post("/models/{name}/load", response_model=ModelStatus)
async def models_load(name: str, runtime: ServiceRuntime = Depends(get_runtime)) -> ModelStatus:
    record = await runtime.manager.load(name)
    return runtime.manager.model_status(record)


@admin_post("/models/{name}/unload", response_model=ModelStatus)
async def models_unload(name: str, runtime: ServiceRuntime = Depends(get_runtime)) -> ModelStatus:
    return await runtime.manager.unload(name)
