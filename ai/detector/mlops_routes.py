"""``GET /drift/status``, ``POST /reference/update`` and ``GET /active-learning/status``:
what the MLOps features see, and capturing the drift reference from live traffic."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ConfigDict, Field

from ai.contracts.detector import Version
from ai.contracts.safe_input import RequestModel
from ai.runtime.conventions import ERROR_RESPONSES
from ai.runtime.errors import ErrorCode, ServiceError
from ai.runtime.image_request import parse_body, read_payload
from ai.runtime.security.keys import Scope
from ai.runtime.security.policy import requires
from ai.runtime.service import get_runtime


class ReferenceUpdate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    version: Version | None = Field(None, description="The version whose window becomes its reference; all when absent")


def _disabled(feature: str, variable: str) -> ServiceError:
    return ServiceError(
        ErrorCode.MODEL_DISABLED, f"{feature} is turned off ({variable}=false)", details={"variable": variable}
    )


def mlops_router() -> APIRouter:
    router = APIRouter(tags=["mlops"])

    @router.get("/drift/status", responses=ERROR_RESPONSES, openapi_extra=requires(Scope.READ))
    async def drift_status(request: Request) -> dict[str, Any]:
        """Per version: the reference, the recent window, each feature's test and whether it drifted."""
        detector = get_runtime(request).service
        if detector.drift is None:
            raise _disabled("drift monitoring", "DRIFT_ENABLED")
        return await asyncio.to_thread(detector.drift.status)  # may run a check (milliseconds)

    @router.post(
        "/reference/update",
        responses=ERROR_RESPONSES,
        openapi_extra={
            **requires(Scope.ADMIN),
            "requestBody": {
                "required": False,
                "content": {"application/json": {"schema": ReferenceUpdate.model_json_schema()}},
            },
        },
    )
    async def reference_update(request: Request) -> dict[str, Any]:
        """Make the recent window of live traffic the drift reference (kept across restarts)."""
        detector = get_runtime(request).service
        if detector.drift is None:
            raise _disabled("drift monitoring", "DRIFT_ENABLED")
        raw = await request.body()
        body = parse_body(ReferenceUpdate, (await read_payload(request))[0]) if raw.strip() else ReferenceUpdate()
        if body.version is not None and body.version not in detector.served:
            raise ServiceError(
                ErrorCode.MODEL_NOT_FOUND,
                f"model version {body.version} is not configured",
                details={"version": body.version},
            )
        try:
            return await asyncio.to_thread(detector.drift.update_reference, body.version)  # writes the file
        except ValueError as exc:
            raise ServiceError(ErrorCode.INVALID_REQUEST, str(exc), status=409) from exc

    @router.get("/active-learning/status", responses=ERROR_RESPONSES, openapi_extra=requires(Scope.READ))
    async def active_learning_status(request: Request) -> dict[str, Any]:
        """Where uncertain frames go, how many were saved and dropped, and why."""
        detector = get_runtime(request).service
        if detector.sampler is None:
            raise _disabled("active learning", "ACTIVE_LEARNING_ENABLED")
        return detector.sampler.status()

    return router
