"""``POST /api/analyze`` (a camera frame in, a stored risk event out), the events and
entities it stores, and the pipeline's per-stage latency history."""

from __future__ import annotations

import asyncio
import base64
import math
import time
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from ai.contracts.events import STAGES, AnalyzeRequest, EntityRecord, Event, EventPage
from ai.contracts.model_zoo import LatencyHistory
from ai.runtime.conventions import ERROR_RESPONSES
from ai.runtime.errors import ErrorCode, ServiceError
from ai.runtime.image_request import image_source, parse_body, read_payload
from ai.runtime.images import ImageLimits, decode_base64, oriented_size, probe_image
from backend.api.model_zoo import latency_of
from backend.pipeline.analyze import Frame
from backend.pipeline.stages import stage_key
from backend.state import BackendState, get_state

router = APIRouter(tags=["events"])

FUTURE_SLACK_S = 300.0  # clock skew a camera may have

ANALYZE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": AnalyzeRequest.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "camera_id": {"type": "string"},
                        "timestamp": {"type": "string", "description": "ISO 8601 or unix seconds"},
                    },
                    "required": ["file", "camera_id"],
                }
            },
        },
    }
}


def _seconds(value: datetime | float | None, default: float) -> float:
    """Unix seconds; a time without a zone is taken as UTC."""
    if value is None:
        return default
    if isinstance(value, datetime):
        try:
            return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
        except (OverflowError, ValueError, OSError):
            return math.nan
    return float(value)


def _vetted(raw: bytes | str, limits: ImageLimits) -> tuple[str, tuple[int, int]]:
    """Base64 of a decodable image within the limits, and its size as displayed."""
    data = raw if isinstance(raw, bytes) else decode_base64(raw, limits)
    size = oriented_size(probe_image(data, limits))
    return base64.b64encode(data).decode("ascii"), size


@router.post(
    "/api/analyze",
    response_model=Event,
    responses=ERROR_RESPONSES,
    openapi_extra=ANALYZE_BODY,
    summary="Analyse one camera frame into a stored risk event",
)
async def analyze(request: Request, state: BackendState = Depends(get_state)) -> Event:
    """Detector, then enrichment of every detection, a scene caption and entity matching
    at once, then the LLM's risk assessment; the event is stored and returned. A stage
    that fails leaves its part empty (``stages``, ``missing``); the answer is still 200.
    Multipart (``file``, ``camera_id``, ``timestamp``) or JSON (base64 ``image``)."""
    data, files = await read_payload(request, max_files=1)
    body: AnalyzeRequest = parse_body(AnalyzeRequest, data)
    image, size = await asyncio.to_thread(_vetted, image_source(body, files), state.settings.image_limits)  # type: ignore[arg-type]
    frame = Frame(image, body.camera_id, _taken_at(body.timestamp, state.settings.event_retention_days), size)
    return await state.pipeline.analyze(frame)


def _taken_at(value: datetime | float | None, retention_days: float) -> float:
    """The frame's time: now when not given; refused when not a finite time in the
    retention window or more than FUTURE_SLACK_S ahead (a camera with a wrong clock
    must not age every entity out of the match window, nor store what retention deletes)."""
    now = time.time()
    taken = _seconds(value, now)
    oldest = now - retention_days * 86400.0
    if not math.isfinite(taken) or not oldest <= taken <= now + FUTURE_SLACK_S:
        raise ServiceError(
            ErrorCode.INVALID_REQUEST,
            f"timestamp must be unix seconds (or ISO 8601) between {oldest:.0f} (EVENT_RETENTION_DAYS ago) and "
            f"{now + FUTURE_SLACK_S:.0f} (now plus {FUTURE_SLACK_S:.0f} s); a millisecond value is 1000x too large",
            status=422,
            details={"field": "timestamp"},
        )
    return taken


@router.get("/api/events", response_model=EventPage, responses=ERROR_RESPONSES)
async def events(
    camera_id: str | None = Query(None, max_length=128),
    since: datetime | float | None = Query(None, description="Taken at or after (ISO 8601 or unix seconds)"),
    until: datetime | float | None = Query(None, description="Taken before (ISO 8601 or unix seconds)"),
    min_risk: int | None = Query(None, ge=0, le=100, description="Lowest risk_score (failed analyses excluded)"),
    cursor: str | None = Query(None, max_length=500, description="next_cursor of the previous page"),
    limit: int = Query(50, ge=1, le=200),
    state: BackendState = Depends(get_state),
) -> EventPage:
    """Stored events, newest first, in pages."""
    lower = _seconds(since, 0.0) if since is not None else None
    upper = _seconds(until, 0.0) if until is not None else None
    if lower is not None and upper is not None and upper <= lower:
        raise ServiceError(ErrorCode.INVALID_REQUEST, "until must be after since", status=422)
    return await asyncio.to_thread(state.events.page, camera_id, lower, upper, min_risk, cursor, limit)


@router.get("/api/events/{event_id}", response_model=Event, responses=ERROR_RESPONSES)
async def event(event_id: str, state: BackendState = Depends(get_state)) -> Event:
    found = await asyncio.to_thread(state.events.get, event_id)
    if found is None:
        raise _missing("event", event_id)
    return found


@router.get("/api/entities/{entity_id}", response_model=EntityRecord, responses=ERROR_RESPONSES)
async def entity(
    entity_id: str, limit: int = Query(100, ge=1, le=1000), state: BackendState = Depends(get_state)
) -> EntityRecord:
    """A person or vehicle the cameras have seen, with its sightings, newest first."""
    found = await asyncio.to_thread(state.events.entity, entity_id, limit)
    if found is None:
        raise _missing("entity", entity_id)
    return found


@router.get("/api/pipeline/latency/history", response_model=LatencyHistory, responses=ERROR_RESPONSES)
async def stage_latency(
    stage: str = Query(..., description=f"One of {', '.join(STAGES)}"),
    since: int = Query(60, ge=1, le=1440, description="Minutes of history"),
    bucket_seconds: int = Query(60, ge=10, le=3600, description="Bucket size in seconds"),
    state: BackendState = Depends(get_state),
) -> LatencyHistory:
    """Per-bucket avg, p50, p95 and count of a pipeline stage's successful runs."""
    if stage not in STAGES:
        raise ServiceError(
            ErrorCode.INVALID_REQUEST, f"unknown stage {stage[:40]!r}; stages: {', '.join(STAGES)}", status=422
        )
    return await latency_of(state, stage_key(stage), f"pipeline stage {stage}", since, bucket_seconds)


def _missing(kind: str, identifier: str) -> ServiceError:
    details: dict[str, Any] = {kind: identifier}
    return ServiceError(ErrorCode.NOT_FOUND, f"no {kind} {identifier[:80]!r}", details=details)
