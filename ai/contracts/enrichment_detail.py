"""Results of the enrichment models that describe a detection in detail: clothing
(zero-shot and segmented), the action over several frames, vehicle damage, licence
plates and open-vocabulary boxes. Shared by the services and the backend. Boxes are
``[x1, y1, x2, y2]`` in pixels of the submitted image."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ai.contracts.images import ImageRequest
from ai.contracts.safe_input import Base64Text
from ai.contracts.timing import Timed

Box4 = list[float]


class LabelScore(BaseModel):
    label: str
    score: float


class ClothingResult(BaseModel):
    clothing_type: str = Field(description="The most likely garment of the label set")
    color: str = Field(description="Dominant colour of the upper body (named palette)")
    colors: list[str] = Field(description="Dominant colours, most covering first")
    style: str = Field(description="casual, formal, work, athletic or concealing")
    confidence: float
    top_labels: list[LabelScore] = Field(description="The three most likely labels")
    is_suspicious: bool
    suspicious_reasons: list[str] = Field(description="face covering, all dark at night, high-visibility vest at night")
    is_service_uniform: bool = Field(description="A delivery uniform or a high-visibility vest")
    model: str = "clothing_classifier"


class ClothingResponse(ClothingResult, Timed):
    pass


class RunLengthMask(BaseModel):
    """A binary mask over its segment's box, row by row: runs alternating off/on, off first."""

    size: list[int] = Field(description="[height, width] of the box in pixels")
    counts: list[int]


class ClothingSegment(BaseModel):
    label: str
    area_fraction: float = Field(description="Share of the crop this class covers")
    bbox: Box4
    mask: RunLengthMask


class ClothingSegmentsResult(BaseModel):
    segments: list[ClothingSegment] = Field(description="Every class present except background, largest first")
    upper_color: str | None = Field(None, description="Dominant colour of upper clothes or dress")
    lower_color: str | None = Field(None, description="Dominant colour of pants, skirt or dress")


class ClothingSegmentsResponse(ClothingSegmentsResult, Timed):
    pass


class ActionRequest(ImageRequest):
    """``image`` is the newest frame; ``frames`` the ones before it, oldest first (same camera,
    same size); ``bbox`` crops all of them alike."""

    frames: list[Base64Text] = Field(min_length=1, max_length=32, description="Earlier frames, oldest first")


class ActionResult(BaseModel):
    action: str
    confidence: float
    scores: list[LabelScore] = Field(description="The five most likely actions")
    is_suspicious: bool = Field(description="The most likely action is one of the suspicious actions")
    frames_used: int = Field(description="Frames of the clip (the model samples or repeats them to its own count)")


class ActionResponse(ActionResult, Timed):
    pass


class NightAwareRequest(ImageRequest):
    """Clothing and vehicle damage read differently at night."""

    is_night: bool | None = Field(None, description="22:00-06:00 at the camera (default: day)")


class DamageItem(BaseModel):
    damage_type: str
    confidence: float
    bbox: Box4
    mask_area: float = Field(description="Pixels of the damage's mask")


DamageRisk = Literal["none", "low", "elevated", "high", "critical"]


class DamageResult(BaseModel):
    damages: list[DamageItem]
    damage_types: list[str]
    has_high_security_damage: bool = Field(description="glass_shatter or lamp_broken")
    patterns: list[str] = Field(description="break-in pattern, night damage, likely incident")
    risk: DamageRisk


class DamageResponse(DamageResult, Timed):
    pass


class PlateRead(BaseModel):
    text: str = Field(description="Upper-case letters and digits as read (spaces kept)")
    confidence: float
    bbox: Box4
    detection_confidence: float | None = Field(None, description="The plate detector's, when it found the plate")


class PlateResult(BaseModel):
    plates: list[PlateRead]


class PlateResponse(PlateResult, Timed):
    pass


class OpenVocabItem(BaseModel):
    label: str
    confidence: float
    bbox: Box4


class OpenVocabResult(BaseModel):
    detections: list[OpenVocabItem]
    vocabulary: list[str]


class OpenVocabResponse(OpenVocabResult, Timed):
    pass
