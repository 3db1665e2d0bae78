"""The CLIP service as the backend calls it: image and text embeddings, zero-shot
labels, similarities and the anomaly score, each as the contract's typed answer, through
the shared transport (key, concurrency limit, retries, breaker, ``/ready`` probe)."""

from __future__ import annotations

import httpx

from ai.contracts.clip import (
    ANOMALY,
    BATCH_SIMILARITY,
    CLASSIFY,
    EMBED,
    EMBED_SENTENCES,
    EMBED_TEXT,
    SIMILARITY,
    AnomalyResponse,
    BatchSimilarityResponse,
    ClassifyResponse,
    EmbedResponse,
    EmbedSentencesResponse,
    EmbedTextResponse,
    SimilarityResponse,
)
from backend.metrics import BackendMetrics
from backend.service_clients import TypedClient, encoded
from backend.settings import BackendSettings


class ClipClient(TypedClient):
    def __init__(
        self, settings: BackendSettings, metrics: BackendMetrics, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        super().__init__("clip", settings.clip_url, settings.clip_api_key, settings, metrics, transport)

    async def embed(self, image: bytes | str, bbox: list[float] | None = None) -> EmbedResponse:
        """An L2-normalised embedding of the image, or of its ``bbox`` crop ([x1, y1, x2,
        y2], cropped by the service): entity matching, a camera's anomaly baseline."""
        return EmbedResponse.model_validate(await self._post(EMBED.path, {"image": encoded(image), "bbox": bbox}))

    async def embed_text(self, texts: list[str]) -> EmbedTextResponse:
        return EmbedTextResponse.model_validate(await self._post(EMBED_TEXT.path, {"texts": texts}))

    async def embed_sentences(self, texts: list[str]) -> EmbedSentencesResponse:
        """Sentence vectors (all-MiniLM-L6-v2) for semantic search: not CLIP's space."""
        return EmbedSentencesResponse.model_validate(await self._post(EMBED_SENTENCES.path, {"texts": texts}))

    async def classify(
        self, image: bytes | str, labels: list[str], prompt_template: str | None = None
    ) -> ClassifyResponse:
        """Zero-shot over ``labels``; without a template the service averages its own."""
        payload = {"image": encoded(image), "labels": labels, "prompt_template": prompt_template}
        return ClassifyResponse.model_validate(await self._post(CLASSIFY.path, payload))

    async def similarity(self, image: bytes | str, text: str) -> SimilarityResponse:
        answer = await self._post(SIMILARITY.path, {"image": encoded(image), "text": text})
        return SimilarityResponse.model_validate(answer)

    async def batch_similarity(self, image: bytes | str, texts: list[str]) -> BatchSimilarityResponse:
        answer = await self._post(BATCH_SIMILARITY.path, {"image": encoded(image), "texts": texts})
        return BatchSimilarityResponse.model_validate(answer)

    async def anomaly_score(self, image: bytes | str, baseline_embedding: list[float]) -> AnomalyResponse:
        answer = await self._post(ANOMALY.path, {"image": encoded(image), "baseline_embedding": baseline_embedding})
        return AnomalyResponse.model_validate(answer)
