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
from ai.runtime.conventions import ERROR_RESPONSES
from ai.runtime.images import decode_base64, probe_image
from backend.state import BackendState, get_state

router = APIRouter(tags=["enrichment"])


def _vet_image(text: str, state: BackendState) -> None:
    """Refuse bad images here with a 4xx, rather than as a FAILED result from both services."""
    limits = state.settings.image_limits
    probe_image(decode_base64(text, limits), limits)


@router.post("/api/enrich", response_model=EnrichmentResult, responses=ERROR_RESPONSES)
async def enrich(detection: DetectionEnrichRequest, state: BackendState = Depends(get_state)) -> EnrichmentResult:
    """Route each triggered model to the light or heavy service (ENRICHMENT_<KEY>_SERVICE),
    one /enrich per service, and merge: status FULL, PARTIAL or FAILED, per-model errors,
    and the context text for the risk prompt. Answers 200 whenever the input was valid."""
    await asyncio.to_thread(_vet_image, detection.image, state)
    return await state.client.enrich(detection)


@router.post("/api/enrich/frame", response_model=FrameEnrichmentResult, responses=ERROR_RESPONSES)
async def enrich_frame(frame: FrameEnrichRequest, state: BackendState = Depends(get_state)) -> FrameEnrichmentResult:
    """A frame's detections in one /enrich per service: each model runs once over all the
    crops it is triggered for; one merged result per detection, as for ``/api/enrich``."""
    await asyncio.to_thread(_vet_image, frame.image, state)
    return await state.client.enrich_frame(frame)
