"""The merged result of one detection's enrichment across the light and heavy services,
as the backend answers ``POST /api/enrich`` (one detection) and ``POST /api/enrich/frame``
(a frame's detections) and hands to the risk pipeline."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ai.contracts.enrichment import (
    MAX_DETECTIONS,
    AgeClassificationResult,
    DistanceResult,
    EnrichOptions,
    GenderClassificationResult,
    PersonEmbeddingResult,
    PetResult,
    PoseResult,
    ThreatDetectionResult,
    VehicleResult,
    ViolenceResult,
    WeatherResult,
)
from ai.contracts.enrichment_detail import (
    ActionResult,
    ClothingResult,
    ClothingSegmentsResult,
    DamageResult,
    OpenVocabResult,
    PlateResult,
)
from ai.contracts.images import BBoxInput
from ai.contracts.safe_input import Base64Text, RequestModel

# FULL: every routed model ran (or was skipped for a stated reason); PARTIAL: some did;
# FAILED: none did; SKIPPED: no model applies to this detection type (nothing was called).
EnrichmentStatus = Literal["FULL", "PARTIAL", "FAILED", "SKIPPED"]


class DetectionEnrichRequest(RequestModel):
    """One detection to enrich."""

    image: str = Field(description="Base64 frame (a data: URL prefix is accepted)")
    detection_type: str = Field("object", description="person, vehicle, animal, object, or a detector label")
    bbox: BBoxInput | None = Field(None, description="The detection in the frame, any documented form")
    detection_id: str = Field("det", min_length=1, max_length=200)
    frames: list[Base64Text] | None = Field(None, max_length=32)
    options: EnrichOptions = Field(default_factory=EnrichOptions)


class FrameDetection(BaseModel):
    """One detection of a frame."""

    model_config = ConfigDict(extra="forbid")

    detection_id: str = Field(min_length=1, max_length=200)
    detection_type: str = Field("object", description="person, vehicle, animal, object, or a detector label")
    bbox: BBoxInput | None = Field(None, description="The detection in the frame; none = the whole frame")


class FrameEnrichRequest(RequestModel):
    """A frame's detections, enriched with one /enrich per service."""

    image: str = Field(description="Base64 frame (a data: URL prefix is accepted)")
    detections: list[FrameDetection] = Field(min_length=1, max_length=MAX_DETECTIONS)
    frames: list[Base64Text] | None = Field(None, max_length=32)
    options: EnrichOptions = Field(default_factory=EnrichOptions)

    @field_validator("detections")
    @classmethod
    def _unique_ids(cls, detections: list[FrameDetection]) -> list[FrameDetection]:
        ids = [d.detection_id for d in detections]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"detection_id must be unique within a frame; repeated: {', '.join(repeated)}")
        return detections


class ModelFailure(BaseModel):
    code: str
    message: str
    service: Literal["light", "heavy"]


class ServiceCall(BaseModel):
    """How the call to one enrichment service went."""

    url: str
    ok: bool
    latency_ms: float
    models: list[str] = Field(description="The models routed to this service for this detection")
    detections: int = Field(1, description="Detections of the frame sent in the same call")
    error: str | None = None


class EnrichmentResult(BaseModel):
    detection_id: str
    detection_type: str
    status: EnrichmentStatus = Field(
        description="FULL: every routed model ran; PARTIAL: some; FAILED: none; "
        "SKIPPED: no model applies to this detection type (with these options), so none was called"
    )
    threat_detection: ThreatDetectionResult | None = None
    age_classifications: dict[str, AgeClassificationResult] = Field(default_factory=dict)
    gender_classifications: dict[str, GenderClassificationResult] = Field(default_factory=dict)
    person_embeddings: dict[str, PersonEmbeddingResult] = Field(default_factory=dict)
    pose: PoseResult | None = None
    vehicle: VehicleResult | None = None
    pet: PetResult | None = None
    depth: DistanceResult | None = None
    violence: ViolenceResult | None = None
    weather: WeatherResult | None = None
    clothing: ClothingResult | None = None
    clothing_segments: ClothingSegmentsResult | None = None
    action: ActionResult | None = None
    vehicle_damage: DamageResult | None = None
    plates: PlateResult | None = None
    open_vocab: OpenVocabResult | None = None
    models_used: list[str] = Field(default_factory=list)
    errors: dict[str, ModelFailure] = Field(default_factory=dict)
    skipped: dict[str, str] = Field(default_factory=dict)
    services: dict[str, ServiceCall] = Field(default_factory=dict)
    context: str = Field("", description="Deterministic text block for the risk-analysis prompt")
    inference_time_ms: float


class FrameEnrichmentResult(BaseModel):
    detections: list[EnrichmentResult] = Field(description="One merged result per detection, in request order")
    inference_time_ms: float
