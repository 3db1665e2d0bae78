"""Enrichment requests and responses: the light and heavy services answer these, and
the backend client reads exactly these (it has no copies of its own)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ai.contracts.enrichment_detail import (
    ActionResult,
    ClothingResult,
    ClothingSegmentsResult,
    DamageResult,
    OpenVocabResult,
    PlateResult,
)
from ai.contracts.images import XYWH, BBoxInput, ImageRequest
from ai.contracts.safe_input import Base64Text
from ai.contracts.timing import Timed

MAX_DETECTIONS = 64

COCO_KEYPOINT_NAMES: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip

Posture = Literal["standing", "walking", "running", "sitting", "crouching", "lying_down", "unknown"]
PoseAlert = Literal["crouching", "lying_down", "hands_raised", "fighting_stance"]
ThreatType = Literal["knife", "gun", "weapon", "none"]
Severity = Literal["low", "medium", "high", "critical"]
ProximityLabel = Literal["very_close", "close", "medium", "far"]
DistanceMethod = Literal["center", "mean", "median", "min"]


class Keypoint(BaseModel):
    name: str
    x: float
    y: float
    confidence: float


class PoseResult(BaseModel):
    keypoints: list[Keypoint] = Field(description="17 COCO keypoints of the most confident person; [] if none")
    posture: Posture
    alerts: list[PoseAlert]
    person_confidence: float | None = Field(None, description="Confidence of the person the keypoints belong to")
    model: str = Field("pose_estimator", description="pose_estimator (YOLO pose) or vitpose (ViTPose+)")


class PoseResponse(PoseResult, Timed):
    pass


class ThreatItem(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    class_name: str = Field(alias="class", serialization_alias="class")
    confidence: float
    bbox: XYWH
    threat_type: ThreatType
    severity: Severity


class ThreatResponse(Timed):
    threats_detected: list[ThreatItem]
    is_threat: bool
    max_confidence: float


class ThreatDetectionResult(BaseModel):
    """The most severe threat of one detection, as the enrichment result carries it."""

    threat_type: ThreatType
    confidence: float
    severity: Severity
    bbox: list[float] | None = Field(None, description="[x1, y1, x2, y2] in the submitted image")


class ReidResponse(Timed):
    embedding: list[float] = Field(description="L2-normalised")
    embedding_dim: int
    model: str


class PersonEmbeddingResult(BaseModel):
    embedding: list[float]
    embedding_dimension: int
    model: str


class PetRequest(ImageRequest):
    pass


class PetResult(BaseModel):
    pet_type: Literal["cat", "dog"]
    breed: str = Field(description="Breed from the classifier's label, 'unknown' when it has none")
    confidence: float = Field(description="Probability that the animal is a pet_type")
    is_household_pet: bool = Field(description="Cat or dog at all (false for e.g. a fox or raccoon)")
    label: str = Field(description="The classifier's top label")


class PetResponse(PetResult, Timed):
    pass


class DepthResponse(Timed):
    depth_map_base64: str = Field(description="PNG, 8-bit grey, 0 = nearest, 255 = farthest, the input's size")
    min_depth: float
    max_depth: float
    mean_depth: float
    is_metric: bool = Field(description="True when the values are metres (metric model), else relative 0..1")
    width: int
    height: int


class ObjectDistanceRequest(ImageRequest):
    bbox: BBoxInput = Field(description="The object, in the image's pixels; the image is not cropped")  # type: ignore[assignment]
    method: DistanceMethod = "median"


class DistanceResult(BaseModel):
    estimated_distance_m: float
    relative_depth: float = Field(description="0 = nearest point of the scene, 1 = farthest")
    proximity_label: ProximityLabel
    method: DistanceMethod


class ObjectDistanceResponse(DistanceResult, Timed):
    pass


class VehicleResult(BaseModel):
    vehicle_type: str
    display_name: str
    confidence: float
    is_commercial: bool
    all_scores: dict[str, float] = Field(default_factory=dict)


class VehicleResponse(VehicleResult, Timed):
    pass


class AgeClassificationResult(BaseModel):
    age_range: str
    confidence: float
    raw_prediction: float | None = Field(None, description="Estimated age in years")


class GenderClassificationResult(BaseModel):
    gender: Literal["male", "female", "unknown"]
    confidence: float


class DemographicsResult(BaseModel):
    age: AgeClassificationResult | None = None
    gender: GenderClassificationResult | None = None


class ViolenceResult(BaseModel):
    is_violent: bool
    confidence: float = Field(description="Probability of the violent class")


class WeatherResult(BaseModel):
    condition: str
    confidence: float


class EnrichOptions(BaseModel):
    """Switches per enrichment; None means the model's default (on unless optional)."""

    model_config = ConfigDict(extra="allow")

    include_pose: bool | None = None
    include_threat: bool | None = None
    include_reid: bool | None = None
    include_pet: bool | None = None
    include_depth: bool | None = None
    include_vehicle: bool | None = None
    include_demographics: bool | None = None
    include_violence: bool | None = None
    include_weather: bool | None = None
    action_recognition: bool | None = None
    use_vitpose: bool | None = Field(None, description="ViTPose+ for the pose instead of YOLO pose (heavier)")
    include_clothing: bool | None = None
    clothing_segmentation: bool | None = None
    include_damage: bool | None = None
    include_plates: bool | None = None
    open_vocab: bool | None = None
    is_night: bool | None = Field(None, description="22:00-06:00 at the camera: clothing and damage read differently")


class DetectionItem(BaseModel):
    """One detection of a frame sent to ``/enrich``."""

    model_config = ConfigDict(extra="forbid")

    detection_id: str | None = Field(None, max_length=200, description="Defaults to its index in `detections`")
    detection_type: str = Field("object", description="person, vehicle, animal, object, or a detector label")
    bbox: BBoxInput | None = Field(None, description="The detection in the frame; none = the whole frame")


class EnrichRequest(ImageRequest):
    """One detection (``bbox``, ``detection_type``, ``detection_id``), or a frame's
    detections in ``detections``: then each model runs once over all their crops."""

    detection_type: str = Field(
        "object", description="person, vehicle, animal, object, or a detector label such as car or dog"
    )
    detection_id: str | None = None
    detections: list[DetectionItem] | None = Field(
        None, min_length=1, max_length=MAX_DETECTIONS, description="A frame's detections, enriched in one call"
    )
    frames: list[Base64Text] | None = Field(None, max_length=32, description="Base64 frames for temporal models")
    options: EnrichOptions = Field(default_factory=EnrichOptions)

    @model_validator(mode="after")
    def _one_form(self) -> EnrichRequest:
        if self.detections is None:
            return self
        single = {"bbox", "detection_type", "detection_id"} & self.model_fields_set
        if single:
            raise ValueError(
                f"send a frame's `detections`, or one detection's bbox, detection_type and detection_id; "
                f"not both (got {', '.join(sorted(single))} beside `detections`)"
            )
        ids = [item.detection_id or str(i) for i, item in enumerate(self.detections)]
        duplicated = sorted({i for i in ids if ids.count(i) > 1})
        if duplicated:
            raise ValueError(f"detection_id must be unique within a frame; repeated: {', '.join(duplicated)}")
        return self

    def items(self) -> list[DetectionItem]:
        """The detections to enrich, with their ids filled in (one item in the single form)."""
        if self.detections is None:
            return [DetectionItem(detection_id=self.detection_id, detection_type=self.detection_type, bbox=self.bbox)]
        return [
            item if item.detection_id else item.model_copy(update={"detection_id": str(i)})
            for i, item in enumerate(self.detections)
        ]


class ModelError(BaseModel):
    code: str
    message: str


class EnrichResponse(Timed):
    """What one instance ran for one detection; null where a model did not run here.
    ``model_times_ms`` are the forward passes that served it; a pass shared by several
    detections (or requests) counts whole for each of them."""

    detection_id: str | None = None
    detection_type: str
    pose: PoseResult | None = None
    threat: ThreatDetectionResult | None = None
    reid_embedding: list[float] | None = None
    pet: PetResult | None = None
    depth: DistanceResult | None = None
    vehicle: VehicleResult | None = None
    demographics: DemographicsResult | None = None
    violence: ViolenceResult | None = None
    weather: WeatherResult | None = None
    clothing: ClothingResult | None = None
    clothing_segments: ClothingSegmentsResult | None = None
    action: ActionResult | None = None
    vehicle_damage: DamageResult | None = None
    plates: PlateResult | None = None
    open_vocab: OpenVocabResult | None = None
    models_used: list[str] = Field(default_factory=list)
    errors: dict[str, ModelError] = Field(default_factory=dict)
    skipped: dict[str, str] = Field(default_factory=dict, description="Triggered models not run, and why")
    model_times_ms: dict[str, float] = Field(default_factory=dict)


class FrameEnrichResponse(Timed):
    """What one instance ran for a frame's detections, one answer per detection in order."""

    detections: list[EnrichResponse]
    models_used: list[str] = Field(default_factory=list, description="Every model that ran for the frame")
