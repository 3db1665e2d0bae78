"""The CLIP endpoints, declared once: ``/embed`` runs the image tower; the others need
text too and run both towers through the same batcher; ``/embed-text`` has no image."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request

from ai.clip.embeddings import anomaly, image_and_texts, label_vectors, model_label, text_vectors, zero_shot
from ai.clip.settings import ClipSettings
from ai.contracts.clip import (
    ANOMALY,
    BATCH_SIMILARITY,
    CLASSIFY,
    EMBED,
    EMBED_SENTENCES,
    EMBED_TEXT,
    SENTENCE_MODEL,
    SIMILARITY,
    AnomalyResponse,
    BatchSimilarityResponse,
    ClassifyResponse,
    EmbedResponse,
    EmbedSentencesRequest,
    EmbedSentencesResponse,
    EmbedTextRequest,
    EmbedTextResponse,
    SimilarityResponse,
    TextSimilarity,
)
from ai.contracts.endpoints import Endpoint
from ai.runtime.conventions import ERROR_RESPONSES, json_body
from ai.runtime.declarations import Call, CompositeEndpoint
from ai.runtime.errors import ServiceError
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
    """``POST /embed-text`` and ``POST /embed-sentences``: JSON only (no image to upload)."""
    router = APIRouter(tags=["clip"])

    @router.post(
        EMBED_TEXT.path,
        response_model=EmbedTextResponse,
        responses=ERROR_RESPONSES,
        summary="Text embeddings",
        description=EMBED_TEXT.summary,
        openapi_extra=json_body(EmbedTextRequest),
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

    @router.post(
        EMBED_SENTENCES.path,
        response_model=EmbedSentencesResponse,
        responses=ERROR_RESPONSES,
        summary="Sentence embeddings",
        description=EMBED_SENTENCES.summary,
        openapi_extra=json_body(EmbedSentencesRequest),
    )
    async def embed_sentences(request: Request) -> EmbedSentencesResponse:
        runtime = get_runtime(request)
        runtime.require(SENTENCE_MODEL)
        body = parse_body(EmbedSentencesRequest, (await read_payload(request, max_files=0))[0])
        results = await runtime.infer(SENTENCE_MODEL, body.texts)
        vectors = []
        for result in results:
            if isinstance(result, ServiceError):
                raise result
            vectors.append(_vector(result.output))
        path = runtime.manager.records[SENTENCE_MODEL].spec.describe().get("path")
        return EmbedSentencesResponse(
            embeddings=vectors,
            dimensions=len(vectors[0]),
            model=sentence_label(path),
            inference_time_ms=max(r.ms for r in results),  # type: ignore[union-attr]
        )

    return router


@functools.cache
def sentence_label(path: object) -> str:
    """The model's own name from its sentence-transformers README (all-MiniLM-L6-v2),
    else its folder's name: the package folder is only called ``model``."""
    if not path:
        return SENTENCE_MODEL
    folder = Path(str(path))
    for line in (
        (folder / "README.md").read_text(encoding="utf-8").splitlines() if (folder / "README.md").is_file() else []
    ):
        if line.startswith("# "):
            return line[2:].strip()
    return folder.name
