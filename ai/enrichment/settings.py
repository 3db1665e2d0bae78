"""Settings of the enrichment service; the role decides the defaults."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, Field, model_validator

from ai.runtime.settings import CsvList, RuntimeSettings

Role = Literal["light", "heavy"]

ROLE_DEFAULTS: dict[str, dict[str, Any]] = {
    "light": {"port": 8096, "service_name": "ai-enrichment-light", "budget_mb": 1.2 * 1024},
    "heavy": {"port": 8094, "service_name": "ai-enrichment", "budget_mb": 6.0 * 1024},
}


class EnrichmentSettings(RuntimeSettings):
    role: Role = Field("light", validation_alias="ENRICHMENT_ROLE")
    preload_models: CsvList = Field(
        default_factory=list, validation_alias=AliasChoices("ENRICHMENT_PRELOAD_MODELS", "PRELOAD_MODELS")
    )
    light_preload_models: CsvList | None = Field(None, validation_alias="ENRICHMENT_LIGHT_PRELOAD_MODELS")
    heavy_preload_models: CsvList | None = Field(None, validation_alias="ENRICHMENT_HEAVY_PRELOAD_MODELS")

    pose_confidence: float = Field(0.25, validation_alias="POSE_CONFIDENCE", ge=0, le=1)
    keypoint_confidence: float = Field(0.3, validation_alias="KEYPOINT_CONFIDENCE", ge=0, le=1)
    threat_confidence: float = Field(0.35, validation_alias="THREAT_CONFIDENCE", ge=0, le=1)
    depth_max_distance_m: float = Field(10.0, validation_alias="DEPTH_MAX_DISTANCE_M", gt=0)
    face_confidence: float = Field(0.35, validation_alias="FACE_CONFIDENCE", ge=0, le=1)
    gender_confidence: float = Field(0.6, validation_alias="GENDER_CONFIDENCE", ge=0, le=1)
    damage_confidence: float = Field(0.3, validation_alias="DAMAGE_CONFIDENCE", ge=0, le=1)
    plate_confidence: float = Field(0.3, validation_alias="PLATE_CONFIDENCE", ge=0, le=1)
    open_vocab_confidence: float = Field(0.25, validation_alias="OPEN_VOCAB_CONFIDENCE", ge=0, le=1)

    @model_validator(mode="after")
    def _role_defaults(self) -> EnrichmentSettings:
        defaults = ROLE_DEFAULTS[self.role]
        if "port" not in self.model_fields_set:
            self.port = defaults["port"]
        if "service_name" not in self.model_fields_set:
            self.service_name = defaults["service_name"]
        self.default_vram_budget_mb = defaults["budget_mb"]
        role_preload = self.light_preload_models if self.role == "light" else self.heavy_preload_models
        if role_preload is not None:  # the compose-level ENRICHMENT_<ROLE>_PRELOAD_MODELS wins
            self.preload_models = role_preload
        return self
