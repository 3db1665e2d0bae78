"""Settings of the Florence-2 service: port and generation bounds."""

from __future__ import annotations

from pydantic import Field

from ai.runtime.settings import CsvList, RuntimeSettings


class FlorenceSettings(RuntimeSettings):
    port: int = Field(8092, validation_alias="PORT", ge=1, le=65535)
    service_name: str = Field("ai-florence", validation_alias="SERVICE_NAME")
    preload_models: CsvList = Field(default_factory=lambda: ["florence"], validation_alias="PRELOAD_MODELS")
    default_vram_budget_mb: float = 3072.0

    # Florence-2's own defaults; a request may lower them, never raise them.
    max_new_tokens: int = Field(1024, validation_alias="FLORENCE_MAX_NEW_TOKENS", ge=1, le=4096)
    num_beams: int = Field(3, validation_alias="FLORENCE_NUM_BEAMS", ge=1, le=10)
