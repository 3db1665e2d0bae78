"""``POST /api/enrich`` (one detection) and ``POST /api/enrich/frame`` (a frame's
detections): through both enrichment services, merged per detection."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends

from ai.contracts.enrichment_result import (
    DetectionEnrichRequest,
    EnrichmentResult,
    FrameEnrichmentResult,
    FrameEnrichRequest,
)
from ai.contracts.images import Box
from ai.runtime.conventions import ERROR_RESPONSES
from ai.runtime.images import clamp_box, decode_base64, oriented_size, probe_image
from backend.state import BackendState, get_state

router = APIRouter(tags=["enrichment"])


def _vet(image: str, boxes: dict[str, Box | None], state: BackendState) -> None:
    """Refuse a bad image or a box outside it here, with a 4xx naming it, rather than as
    FAILED results from both services (one bad box would fail the whole frame there)."""
    limits = state.settings.image_limits
    size = oriented_size(probe_image(decode_base64(image, limits), limits))  # boxes refer to the displayed image
    for field, box in boxes.items():
        if box is not None:
            clamp_box(size, box, limits, field)


@router.post("/api/enrich", response_model=EnrichmentResult, responses=ERROR_RESPONSES)
async def enrich(detection: DetectionEnrichRequest, state: BackendState = Depends(get_state)) -> EnrichmentResult:
    """Route each triggered model to the light or heavy service (ENRICHMENT_<KEY>_SERVICE),
    one /enrich per service, and merge: status FULL, PARTIAL, FAILED or SKIPPED (no model
    applies), per-model errors, and the context text for the risk prompt. Answers 200
    whenever the input was valid; when every service called refused the input (400, 413,
    415, 422), that status and the first service's envelope."""
    await asyncio.to_thread(_vet, detection.image, {"bbox": detection.bbox}, state)
    return await state.client.enrich(detection)


@router.post("/api/enrich/frame", response_model=FrameEnrichmentResult, responses=ERROR_RESPONSES)
async def enrich_frame(frame: FrameEnrichRequest, state: BackendState = Depends(get_state)) -> FrameEnrichmentResult:
    """A frame's detections in one /enrich per service: each model runs once over all the
    crops it is triggered for; one merged result per detection, as for ``/api/enrich``."""
    boxes = {f"detections[{i}].bbox": d.bbox for i, d in enumerate(frame.detections)}
    await asyncio.to_thread(_vet, frame.image, boxes, state)
    return await state.client.enrich_frame(frame)
