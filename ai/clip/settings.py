"""Settings of the CLIP service: anomaly threshold, prompt templates, text cache."""

from __future__ import annotations

from pydantic import Field, field_validator

from ai.runtime.settings import CsvList, RuntimeSettings

# Averaged over for zero-shot labels (CLIP's prompt ensembling); "{}" is the label.
DEFAULT_TEMPLATES = ["a photo of a {}.", "a security camera image of a {}."]


class ClipSettings(RuntimeSettings):
    port: int = Field(8093, validation_alias="PORT", ge=1, le=65535)
    service_name: str = Field("ai-clip", validation_alias="SERVICE_NAME")
    preload_models: CsvList = Field(default_factory=lambda: ["clip"], validation_alias="PRELOAD_MODELS")
    default_vram_budget_mb: float = 2048.0

    anomaly_threshold: float = Field(0.3, validation_alias="CLIP_ANOMALY_THRESHOLD", gt=0, le=2)
    prompt_templates: CsvList = Field(
        default_factory=lambda: list(DEFAULT_TEMPLATES), validation_alias="CLIP_PROMPT_TEMPLATES"
    )
    text_cache_size: int = Field(2048, validation_alias="CLIP_TEXT_CACHE_SIZE", ge=0, le=1_000_000)

    @field_validator("prompt_templates")
    @classmethod
    def _templates_have_a_slot(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError('needs at least one template, e.g. "a photo of a {}."')
        bad = [t for t in value if t.count("{}") != 1]
        if bad:
            raise ValueError(f'each template needs exactly one "{{}}" for the label; not: {bad}')
        return value
