"""The backend's Model Zoo API: model status, a compact UI view, and latency history."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class ZooModel(BaseModel):
    name: str
    display_name: str
    vram_mb: float
    status: str = Field(
        description="loaded, unloaded, loading, error, disabled, unavailable (no weights), unreachable (service "
        "down), not_hosted (its service does not serve it: an optional model not configured, or routing that differs)"
    )
    category: str
    enabled: bool
    available: bool = Field(description="Weights are present (or the model is loaded)")
    path: str
    load_count: int = Field(description="Current reference count: requests using the model now (0 if not loaded)")
    times_loaded: int = Field(0, description="Loads since the service started")
    service: str = Field(
        description="The service hosting it: light or heavy (the enrichment roles), detector, florence or clip"
    )
    priority: str
    backend: str | None = None
    demo_weights: bool = False
    last_used_at: datetime | None = None
    error: str | None = None


class ZooModels(BaseModel):
    vram_budget_mb: float
    vram_used_mb: float
    vram_available_mb: float
    models: list[ZooModel]
    loading_strategy: str = Field(description="on_demand: loaded when first needed, one load at a time per device")
    max_concurrent_models: int = Field(description="Models that can be loading at the same time (one per service)")


class ZooStatusItem(BaseModel):
    name: str
    display_name: str
    category: str
    status: str
    vram_mb: float
    last_used_at: datetime | None = None
    enabled: bool


class ZooStatus(BaseModel):
    models: list[ZooStatusItem]
    total_models: int
    loaded_count: int
    disabled_count: int
    vram_budget_mb: float
    vram_used_mb: float
    timestamp: datetime


class LatencyStats(BaseModel):
    avg_ms: float
    p50_ms: float
    p95_ms: float
    sample_count: int


class LatencySnapshot(BaseModel):
    timestamp: datetime
    stats: LatencyStats | None


class LatencyHistory(BaseModel):
    model_name: str
    display_name: str
    snapshots: list[LatencySnapshot]
    window_minutes: int
    bucket_seconds: int
    has_data: bool
    timestamp: datetime
