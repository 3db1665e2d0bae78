"""The CLIP service: one contrastive image-text model, always loaded, with a bounded
cache of text embeddings (labels and prompts repeat on every frame)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, FastAPI

from ai.clip.endpoints import ENDPOINTS, text_router
from ai.clip.settings import ClipSettings
from ai.clip.text_cache import TextEmbeddingCache
from ai.runtime.model_service import ModelService
from ai.runtime.service import ServiceRuntime


class ClipService(ModelService):
    name = "clip"
    settings_type = ClipSettings
    description = "CLIP: image and text embeddings, zero-shot classification, similarity and anomaly scores."
    endpoints = ENDPOINTS
    settings: ClipSettings
    text_cache: TextEmbeddingCache

    @property
    def title(self) -> str:
        return "CLIP"

    def routers(self) -> Sequence[APIRouter]:
        return (text_router(),)

    def install(self, app: FastAPI, runtime: ServiceRuntime) -> None:
        self.text_cache = TextEmbeddingCache(
            self.settings.text_cache_size, runtime.metrics.registry, self.metrics_prefix
        )

    def health_extra(self) -> dict[str, Any]:
        return {
            "anomaly_threshold": self.settings.anomaly_threshold,
            "prompt_templates": self.settings.prompt_templates,
            "text_cache_entries": len(self.text_cache) if hasattr(self, "text_cache") else 0,
        }
