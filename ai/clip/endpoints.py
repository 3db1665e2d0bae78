"""The CLIP endpoints, declared once: ``/embed`` runs the image tower; the others need
text too and run both towers through the same batcher; ``/embed-text`` has no image."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request

from ai.clip.embeddings import anomaly, image_and_texts, label_vectors, model_label, text_vectors, zero_shot
from ai.clip.settings import ClipSettings
from ai.contracts.clip import (
    ANOMALY,
    BATCH_SIMILARITY,
    CLASSIFY,
    EMBED,
    EMBED_TEXT,
    SIMILARITY,
    AnomalyResponse,
    BatchSimilarityResponse,
    ClassifyResponse,
    EmbedResponse,
    EmbedTextRequest,
    EmbedTextResponse,
    SimilarityResponse,
    TextSimilarity,
)
from ai.contracts.endpoints import Endpoint
from ai.runtime.conventions import ERROR_RESPONSES
from ai.runtime.declarations import Call, CompositeEndpoint
from ai.runtime.families.tasks import Task
from ai.runtime.image_request import parse_body, read_payload
from ai.runtime.service import ServiceRuntime, get_runtime

MODEL = "clip"
Handler = Callable[[Call, ServiceRuntime], Awaitable[Any]]
# CLIP sees 224x224: a larger JPEG is decoded at a reduction that keeps 224 px.
MIN_SIDE = 224


def _vector(values: Any) -> list[float]:
    return [round(float(v), 6) for v in values]


async def _embed(call: Call, runtime: ServiceRuntime) -> EmbedResponse:
    inference = await runtime.infer_one(MODEL, call.image.image)
    embedding = _vector(inference.output)
    return EmbedResponse(
        embedding=embedding,
        embedding_dimension=len(embedding),
        model=model_label(runtime),
        inference_time_ms=inference.ms,
    )


async def _classify(call: Call, runtime: ServiceRuntime) -> ClassifyResponse:
    body = call.body
    settings: ClipSettings = runtime.service.settings
    templates = [body.prompt_template] if body.prompt_template else settings.prompt_templates
    prompts = [template.format(label) for label in body.labels for template in templates]
    image, embedded = await image_and_texts(runtime, call.image, prompts)
    probabilities = zero_shot(image, label_vectors(embedded, len(body.labels), len(templates)), embedded.logit_scale)
    best = int(probabilities.argmax())
    return ClassifyResponse(
        scores={label: round(float(p), 6) for label, p in zip(body.labels, probabilities, strict=True)},
        top_label=body.labels[best],
        top_score=round(float(probabilities[best]), 6),
        model=model_label(runtime),
        inference_time_ms=embedded.ms,
    )


async def _similarity(call: Call, runtime: ServiceRuntime) -> SimilarityResponse:
    image, embedded = await image_and_texts(runtime, call.image, [call.body.text])
    return SimilarityResponse(
        similarity=round(float(embedded.vectors[0] @ image), 6),
        model=model_label(runtime),
        inference_time_ms=embedded.ms,
    )


async def _batch_similarity(call: Call, runtime: ServiceRuntime) -> BatchSimilarityResponse:
    texts = call.body.texts
    image, embedded = await image_and_texts(runtime, call.image, texts)
    scores = embedded.vectors @ image
    return BatchSimilarityResponse(
        similarities=[
            TextSimilarity(text=t, similarity=round(float(s), 6)) for t, s in zip(texts, scores, strict=True)
        ],
        model=model_label(runtime),
        inference_time_ms=embedded.ms,
    )


async def _anomaly(call: Call, runtime: ServiceRuntime) -> AnomalyResponse:
    inference = await runtime.infer_one(MODEL, call.image.image)
    similarity, score = anomaly(inference.output, call.body.baseline_embedding)
    threshold = runtime.service.settings.anomaly_threshold
    return AnomalyResponse(
        anomaly_score=round(score, 6),
        similarity=round(similarity, 6),
        is_anomaly=score > threshold,
        threshold=threshold,
        embedding_dimension=int(inference.output.shape[0]),
        model=model_label(runtime),
        inference_time_ms=inference.ms,
    )


def _composite(contract: Endpoint, handle: Handler, task: Task = Task.EMBED_TEXT) -> CompositeEndpoint:
    return CompositeEndpoint(contract, {MODEL: task}, handle, crop=True, min_side=MIN_SIDE)


ENDPOINTS = (
    _composite(EMBED, _embed, Task.EMBED),
    _composite(CLASSIFY, _classify),
    _composite(SIMILARITY, _similarity),
    _composite(BATCH_SIMILARITY, _batch_similarity),
    _composite(ANOMALY, _anomaly, Task.EMBED),
)


def text_router() -> APIRouter:
    """``POST /embed-text``: JSON only (there is no image to upload)."""
    router = APIRouter(tags=["clip"])

    @router.post(
        EMBED_TEXT.path,
        response_model=EmbedTextResponse,
        responses=ERROR_RESPONSES,
        summary="Text embeddings",
        description=EMBED_TEXT.summary,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": EmbedTextRequest.model_json_schema()}},
            }
        },
    )
    async def embed_text(request: Request) -> EmbedTextResponse:
        runtime = get_runtime(request)
        runtime.require(MODEL)
        body = parse_body(EmbedTextRequest, (await read_payload(request, max_files=0))[0])
        embedded = await text_vectors(runtime, body.texts)
        return EmbedTextResponse(
            embeddings=[_vector(row) for row in embedded.vectors],
            embedding_dimension=int(embedded.vectors.shape[1]),
            cached=embedded.cached,
            model=model_label(runtime),
            inference_time_ms=embedded.ms,
        )

    return router
