"""``GET /health`` and ``GET /ready`` as every model service answers them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ai.contracts.models import PreloadStatus
from ai.contracts.safe_input import RequestModel


class HealthResponse(BaseModel):
    """Liveness plus what an operator needs to see what is wrong."""

    model_config = ConfigDict(extra="allow")

    status: Literal["healthy", "degraded", "unhealthy"]
    service: str
    models_loaded: dict[str, bool]
    demo_weights: dict[str, bool] = Field(description="True where a model runs on demo (random) weights")
    gpu_available: bool
    gpu_memory_used_gb: float
    uptime_seconds: float
    device: str
    ready: bool
    problems: list[str] = Field(
        default_factory=list, description="One line per model that cannot serve or can never load as configured"
    )
    security: dict[str, Any] = Field(default_factory=dict, description="Auth mode, key count, warnings")


class ReadyResponse(BaseModel):
    ready: bool
    preload: PreloadStatus


class PreloadRequest(RequestModel):
    models: list[str] = Field(min_length=1, description="Config names to load, e.g. pose_estimator")
