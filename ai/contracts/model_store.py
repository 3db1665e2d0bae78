"""The backend's model management API (``/api/models``, ``/api/jobs``): every catalog
model of the fleet with where its weights are on disk and what its service is doing
with it, downloads as background jobs with progress, deletion, load and unload."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ai.contracts.safe_input import RequestModel

DownloadStatus = Literal["downloaded", "demo", "package", "missing"]
JobState = Literal["queued", "running", "succeeded", "failed"]


class StoredModel(BaseModel):
    id: str = Field(description="The catalog name (what load, unload, download and delete take)")
    display_name: str
    type: str = Field(description="Task type: detection, pose, embedding, ocr, ... (GET /api/models/{type})")
    service: str = Field(description="Hosting service: light or heavy (enrichment), detector, florence, clip, llm")
    family: str
    source: str = Field(description="hf:<repo>, ultralytics:<asset>, torchreid:<name> or package:<distribution>")
    license: str
    download_status: DownloadStatus = Field(
        description="downloaded (real weights on disk), demo (demo weights), package (ship in an installed Python "
        "package), missing"
    )
    demo_weights: bool
    location: Literal["model-zoo", "hf-cache", "package"] | None = None
    size_on_disk_bytes: int = Field(description="Bytes of its weights on disk (0 when missing)")
    path: str | None = Field(None, description="Where the weights are (admin keys only)")
    downloadable: bool = Field(description="POST /api/models/download can fetch it (a hub, asset or Drive source)")
    deletable: bool = Field(description="Its weights are files of the model store that DELETE may remove")
    state: str = Field(description="What its service reports: loaded, unloaded, loading, error, ... or unreachable")
    vram_mb: float
    last_used_at: datetime | None = None
    error: str | None = None


class ServiceMemory(BaseModel):
    name: str
    reachable: bool
    reason: str | None = Field(None, description="Why there is no status, when unreachable")
    device: str | None = None
    vram_budget_mb: float = 0.0
    vram_used_mb: float = 0.0
    loaded_models: list[str] = Field(default_factory=list)


class ModelList(BaseModel):
    models: list[StoredModel]
    types: list[str] = Field(description="The task types present, for GET /api/models/{type}")
    services: list[ServiceMemory]
    models_path: str | None = Field(None, description="AI_MODELS_PATH (admin keys only)")
    hf_cache: str | None = Field(None, description="The Hugging Face hub cache, HF_HOME/hub (admin keys only)")


class DownloadRequest(RequestModel):
    model_config = ConfigDict(extra="forbid")

    model_id: str = Field(min_length=1, max_length=200, description="A catalog name, e.g. florence")


class Job(BaseModel):
    id: str
    kind: Literal["download"] = "download"
    model_id: str
    state: JobState
    bytes_done: int = 0
    bytes_total: int | None = Field(None, description="Expected bytes, when the source says (the hub does)")
    progress: float | None = Field(None, description="bytes_done / bytes_total, 0..1")
    error: str | None = Field(None, description="Why it failed, and the hint to fix it")
    path: str | None = Field(None, description="Where the weights went (admin keys only)")
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None


class JobList(BaseModel):
    jobs: list[Job] = Field(description="Newest first")


class Deleted(BaseModel):
    id: str
    freed_bytes: int
    removed: list[str] = Field(description="Folders removed (admin keys only; else their kind)")
