"""Model-manager status as every model service reports it at ``GET /models/status``."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

ModelStateName = Literal["disabled", "unavailable", "unloaded", "loading", "loaded", "error"]
PriorityName = Literal["CRITICAL", "HIGH", "MEDIUM", "LOW"]


class ModelInfo(BaseModel):
    """Static facts about a model, from the catalog and weight resolution."""

    display_name: str | None = None
    category: str | None = None
    family: str | None = None
    path: str | None = Field(None, description="Weights path, or the source it would be pulled from")
    available: bool = True
    demo_weights: bool = False
    isolation: str = Field("thread", description="process: the model runs in a worker process of its own")


class ModelStatus(ModelInfo):
    name: str
    state: ModelStateName
    loaded: bool
    priority: PriorityName
    vram_mb: float = Field(description="Memory charged to the budget: measured once loaded, else the estimate")
    estimated_mb: float
    measured_mb: float | None = None
    memory_measure: str = Field(description="cuda_allocator or process_rss")
    last_used: datetime | None = None
    load_count: int = 0
    leases: int = 0
    keep_alive_s: float
    backend: str | None = None
    error: str | None = None
    freed_mb: float | None = Field(None, description="Memory returned by the last unload")
    worker_pid: int | None = Field(None, description="The worker process serving it now (isolation: process)")
    max_batch_size: int = Field(1, description="Most inputs merged into one forward pass (1 = no batching)")
    max_queue_delay_ms: float = Field(0.0, description="Longest an input waits for company while the model is busy")


class LoadedModel(BaseModel):
    name: str
    vram_mb: float
    priority: PriorityName
    last_used: datetime | None = None


class PreloadStatus(BaseModel):
    requested: list[str] = Field(default_factory=list)
    done: bool = False
    loaded: list[str] = Field(default_factory=list)
    failed: dict[str, str] = Field(default_factory=dict)
    ignored: list[str] = Field(default_factory=list, description="Names not hosted by this service")


class ManagerStatus(BaseModel):
    device: str
    memory_measure: str
    vram_budget_mb: float
    vram_used_mb: float
    vram_available_mb: float
    vram_utilization_percent: float
    loaded_models: list[LoadedModel]
    registered_models: list[ModelStatus]
    pending_loads: list[str]
    preload: PreloadStatus
