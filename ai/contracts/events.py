"""The backend's frame pipeline and events API: ``POST /api/analyze`` (a camera frame
in, a stored risk event out), ``GET /api/events``, ``GET /api/events/{id}`` and
``GET /api/entities/{id}``. Torch-free."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ai.contracts.detector import CameraId, DetectedObject
from ai.contracts.enrichment_result import EnrichmentResult
from ai.contracts.risk import RiskAssessment
from ai.contracts.safe_input import RequestModel

Stage = Literal["detector", "enrichment", "caption", "entities", "risk", "store"]
STAGES: tuple[str, ...] = ("detector", "enrichment", "caption", "entities", "risk", "store")
# ok: it answered; partial: some of its parts failed (enrichment models); failed: it did
# not answer (its part of the event is missing); skipped: nothing for it to do.
StageStatus = Literal["ok", "partial", "failed", "skipped"]


class AnalyzeRequest(RequestModel):
    """JSON form; multipart sends ``file`` with ``camera_id`` and ``timestamp`` fields."""

    model_config = ConfigDict(extra="forbid")

    image: str | None = Field(None, description="Base64 frame (a data: URL prefix is accepted)")
    image_base64: str | None = Field(None, description="Alias of `image`")
    camera_id: CameraId = Field(description="The camera that took the frame")
    timestamp: datetime | float | None = Field(
        None, description="When it was taken: ISO 8601 or unix seconds; default the time it arrived"
    )

    def encoded_image(self) -> str | None:
        return self.image if self.image is not None else self.image_base64


class StageResult(BaseModel):
    status: StageStatus
    latency_ms: float
    error: str | None = Field(None, description="Why it failed (the service's code and message) or was skipped")


class EntitySighting(BaseModel):
    """A detection of this event matched to an entity (a person or vehicle seen before, or new)."""

    detection_id: str
    entity_id: str
    kind: Literal["person", "vehicle"]
    new: bool = Field(description="First seen in this event")
    similarity: float = Field(description="Cosine similarity of the crop to the entity (1 when new)")
    previous_sightings: int
    previous_cameras: list[str]


class RiskAnalysis(BaseModel):
    """The LLM's part of the event; ``assessment`` is null when the analysis failed."""

    assessment: RiskAssessment | None
    status: Literal["ok", "repaired", "failed"]
    error: str | None = None
    attempts: int
    model: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float
    prompt: str = Field(description="The frame part of the prompt the LLM was given")
    refused_answers: list[str] = Field(
        default_factory=list, description="What the model answered when it was not usable (each cut at 2000 characters)"
    )


class Event(BaseModel):
    id: str
    camera_id: str
    timestamp: float = Field(description="When the frame was taken, unix seconds UTC")
    created_at: float
    status: Literal["complete", "degraded"] = Field(description="degraded: some stage did not answer (see stages)")
    missing: list[str] = Field(default_factory=list, description="Stages whose part of the event is missing")
    risk_score: int | None = None
    risk_level: str | None = None
    image_width: int
    image_height: int
    detections: list[DetectedObject] = Field(
        default_factory=list, description="The detector's answer; detection i is det_<i> in enrichment and entities"
    )
    detector_model: str | None = None
    detector_version: str | None = None
    enrichment: list[EnrichmentResult] = Field(
        default_factory=list, description="One per enriched detection: the PIPELINE_MAX_DETECTIONS most confident"
    )
    caption: str | None = None
    entities: list[EntitySighting] = Field(default_factory=list)
    risk: RiskAnalysis | None = None
    stages: dict[str, StageResult] = Field(description="Every stage's outcome and time, in pipeline order")
    total_ms: float
    stored: bool = Field(description="false when the database did not take it (the answer is all there is)")


class EventSummary(BaseModel):
    id: str
    camera_id: str
    timestamp: float
    status: str
    risk_score: int | None
    risk_level: str | None
    detection_count: int


class EventPage(BaseModel):
    events: list[EventSummary] = Field(description="Newest first")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last")


class Sighting(BaseModel):
    event_id: str
    detection_id: str
    camera_id: str
    timestamp: float
    similarity: float


class EntityRecord(BaseModel):
    id: str
    kind: str
    first_seen: float
    last_seen: float
    sighting_count: int
    cameras: list[str]
    sightings: list[Sighting] = Field(description="Newest first, at most `limit`")
