"""The Florence-2 service: one vision-language model, always loaded, answering task
prompts with parsed outputs."""

from __future__ import annotations

from typing import Any

from ai.florence.endpoints import ENDPOINTS
from ai.florence.settings import FlorenceSettings
from ai.runtime.model_service import ModelService


class FlorenceService(ModelService):
    name = "florence"
    settings_type = FlorenceSettings
    description = "Florence-2: scene captions, OCR (plates, signs) and open-vocabulary boxes, parsed."
    endpoints = ENDPOINTS
    settings: FlorenceSettings

    @property
    def title(self) -> str:
        return "Florence-2"

    def health_extra(self) -> dict[str, Any]:
        return {"max_new_tokens": self.settings.max_new_tokens, "num_beams": self.settings.num_beams}
