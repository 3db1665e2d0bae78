"""The merged result of one detection's enrichment across the light and heavy services,
as the backend answers ``POST /api/enrich`` and hands to the risk pipeline."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ai.contracts.enrichment import (
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
from ai.contracts.images import BBoxInput

EnrichmentStatus = Literal["FULL", "PARTIAL", "FAILED"]


class DetectionEnrichRequest(BaseModel):
    """One detection to enrich."""

    image: str = Field(description="Base64 frame (a data: URL prefix is accepted)")
    detection_type: str = Field("object", description="person, vehicle, animal, object, or a detector label")
    bbox: BBoxInput | None = Field(None, description="The detection in the frame, any documented form")
    detection_id: str = Field("det", min_length=1, max_length=200)
    frames: list[str] | None = Field(None, max_length=32)
    options: EnrichOptions = Field(default_factory=EnrichOptions)


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
    error: str | None = None


class EnrichmentResult(BaseModel):
    detection_id: str
    detection_type: str
    status: EnrichmentStatus = Field(description="FULL: every routed model ran; PARTIAL: some; FAILED: none")
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
    models_used: list[str] = Field(default_factory=list)
    errors: dict[str, ModelFailure] = Field(default_factory=dict)
    skipped: dict[str, str] = Field(default_factory=dict)
    services: dict[str, ServiceCall] = Field(default_factory=dict)
    context: str = Field("", description="Deterministic text block for the risk-analysis prompt")
    inference_time_ms: float
