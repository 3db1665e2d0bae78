"""The homelab AI API for the rest of the house: image captions (Florence-2) and text
embeddings (all-MiniLM-L6-v2 on the CLIP service), routed to the fleet with the same
transport as the pipeline (key, retries, breaker). Each answer carries the request id,
the model used and the time taken; a service's refusal comes back with its own status."""

from __future__ import annotations

import asyncio
import base64
import time

from fastapi import APIRouter, Depends, Request

from ai.contracts.homelab import (
    MAX_CAPTION_BATCH,
    CaptionBatchResponse,
    CaptionRequest,
    CaptionResponse,
    EmbedRequest,
    EmbedResponse,
)
from ai.runtime.catalog import CatalogEntry, load_catalog
from ai.runtime.context import current_request_id
from ai.runtime.conventions import ERROR_RESPONSES, json_body
from ai.runtime.errors import ErrorCode, ServiceError
from ai.runtime.image_request import parse_body, read_payload
from ai.runtime.images import decode_base64, probe_image
from backend.enrichment_client.errors import EnrichmentCallError
from backend.relay import relayed
from backend.state import BackendState, get_state

router = APIRouter(tags=["homelab"])

CAPTION_MODEL = "florence"
EMBED_MODEL = "text_embedder"

CAPTION_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": CaptionRequest.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": f"1 to {MAX_CAPTION_BATCH} images; more than one is a batch",
                        },
                        "model": {"type": "string"},
                        "detail": {"type": "string", "enum": ["brief", "detailed", "more_detailed"]},
                    },
                    "required": ["file"],
                }
            },
        },
    }
}


def _model(asked: str | None, default: str) -> CatalogEntry:
    """The catalog row a ``model`` field names: its name, display name or source, any case,
    with or without a hub organisation (``sentence-transformers/all-MiniLM-L6-v2``). Only
    the one model the fleet hosts for the task is accepted."""
    entry = load_catalog()[default]
    if asked is None:
        return entry
    names = {n.lower() for n in (entry.name, entry.display_name, entry.source_ref.split("/")[-1]) if n}
    wanted = asked.strip().lower()
    if wanted in names or wanted.split("/")[-1] in names:
        return entry
    raise ServiceError(
        ErrorCode.MODEL_NOT_FOUND,
        f"model {asked!r} is not served here",
        details={"model_id": asked, "available_models": [entry.name, entry.display_name]},
    )


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 2)


@router.post(
    "/api/caption",
    response_model=CaptionResponse | CaptionBatchResponse,
    responses=ERROR_RESPONSES,
    openapi_extra=CAPTION_BODY,
    summary="Caption an image, or a batch of images (Florence-2)",
)
async def caption(request: Request, state: BackendState = Depends(get_state)) -> CaptionResponse | CaptionBatchResponse:
    """JSON with base64 ``image`` (one) or ``batch`` (a list), or multipart ``file`` parts;
    a batch answers ``captions`` in the order sent."""
    started = time.perf_counter()
    fields, files = await read_payload(request, max_files=MAX_CAPTION_BATCH)
    parts = files.get("file", [])
    if parts:
        fields = {**fields, "batch" if len(parts) > 1 else "image": parts if len(parts) > 1 else parts[0]}
        fields = {k: _b64(v) for k, v in fields.items()}
    body: CaptionRequest = parse_body(CaptionRequest, fields)
    entry = _model(body.model, CAPTION_MODEL)
    images: list[str] = body.batch if body.batch is not None else [body.image]  # type: ignore[list-item]
    await asyncio.to_thread(_vet, images, state)
    try:
        answers = await asyncio.gather(*(state.pipeline.florence.caption(i, body.detail) for i in images))  # type: ignore[arg-type]
    except EnrichmentCallError as exc:
        raise relayed(exc.service, exc.code, exc.message, exc.status, exc.details) from exc
    common = {"request_id": current_request_id() or "", "model_used": entry.display_name or entry.name}
    if body.batch is None:
        return CaptionResponse(caption=answers[0].caption, processing_time_ms=_ms(started), **common)
    return CaptionBatchResponse(captions=[a.caption for a in answers], processing_time_ms=_ms(started), **common)


def _vet(images: list[str], state: BackendState) -> None:
    """Refuse what is not an image within the limits here, naming which one, before any
    reaches Florence-2 (a batch is not half-captioned for one bad image)."""
    limits = state.settings.image_limits
    for i, image in enumerate(images):
        field = "image" if len(images) == 1 else f"batch[{i}]"
        probe_image(decode_base64(image, limits, field), limits, field)


def _b64(value: object) -> object:
    """Multipart files are bytes; the JSON fields they stand in for are base64."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, list):
        return [_b64(v) for v in value]
    return value


@router.post(
    "/api/embed",
    response_model=EmbedResponse,
    responses=ERROR_RESPONSES,
    openapi_extra=json_body(EmbedRequest),
    summary="Text embeddings (all-MiniLM-L6-v2, 384 dimensions)",
)
async def embed(request: Request, state: BackendState = Depends(get_state)) -> EmbedResponse:
    """L2-normalised sentence vectors, one per text, for semantic search: a dot product is
    the cosine similarity."""
    started = time.perf_counter()
    body: EmbedRequest = parse_body(EmbedRequest, (await read_payload(request, max_files=0))[0])
    _model(body.model, EMBED_MODEL)
    try:
        answer = await state.pipeline.clip.embed_sentences(body.texts)
    except EnrichmentCallError as exc:
        raise relayed(exc.service, exc.code, exc.message, exc.status, exc.details) from exc
    return EmbedResponse(
        request_id=current_request_id() or "",
        embeddings=answer.embeddings,
        dimensions=answer.dimensions,
        model_used=answer.model,
        processing_time_ms=_ms(started),
    )
