"""The detector's HTTP contract (port 8095), shared by the service and the backend's
client: ``/detect`` and ``/detect/batch`` in the fleet's shape, ``/v1/predict`` and
``/v2/predict`` in the MLOps specification's shape. Torch-free."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ai.contracts.endpoints import Endpoint
from ai.contracts.images import XYWH, ImageRequest
from ai.contracts.safe_input import Base64Text, RequestModel

VERSIONS = ("v1", "v2")
Version = Literal["v1", "v2"]

CameraId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\w.:@/-]+$")]

CONF_FIELD = Field(None, ge=0, le=1, description="Confidence threshold; default YOLO26_CONFIDENCE")
CAMERA_FIELD = Field(None, description="Camera sending the frame: keeps its traffic on one model version")


class DetectRequest(ImageRequest):
    conf_threshold: float | None = CONF_FIELD
    camera_id: CameraId | None = CAMERA_FIELD


class DetectedObject(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    class_name: str = Field(alias="class", serialization_alias="class")
    class_id: int
    confidence: float
    bbox: XYWH = Field(description="Pixels of the submitted image")


class DetectResponse(BaseModel):
    detections: list[DetectedObject]
    inference_time_ms: float = Field(description="Time of the forward pass that ran this image, milliseconds")
    image_width: int
    image_height: int
    model: str = Field(description="Weights that answered (file name without suffix)")
    version: Version = Field(description="Model version that answered (DETECTOR_TRAFFIC_SPLIT)")


class BatchDetectRequest(RequestModel):
    """JSON form; a multipart body sends one `file` part per image instead."""

    model_config = ConfigDict(extra="forbid")

    images: list[Base64Text] = Field(
        default_factory=list, max_length=64, description="Base64 images, at most DETECTOR_MAX_BATCH_IMAGES"
    )
    conf_threshold: float | None = CONF_FIELD
    camera_id: CameraId | None = CAMERA_FIELD


class BatchDetectResponse(BaseModel):
    results: list[DetectResponse] = Field(description="One per image, in the order sent")
    count: int
    inference_time_ms: float = Field(description="Time of the one forward pass over every image, milliseconds")
    model: str
    version: Version


class PredictDetection(BaseModel):
    class_id: int
    class_name: str
    confidence: float
    bbox: list[float] = Field(min_length=4, max_length=4, description="[x1, y1, x2, y2] in pixels")


class PredictResponse(BaseModel):
    request_id: str
    version: Version
    detections: list[PredictDetection]
    inference_time: float = Field(description="Seconds of the forward pass")
    image_shape: list[int] = Field(description="[height, width, channels]")
    confidence_threshold: float


DETECT = Endpoint(
    "/detect",
    DetectRequest,
    DetectResponse,
    None,
    "Security-class objects in one image; the version is chosen by DETECTOR_TRAFFIC_SPLIT, sticky per camera_id.",
)
DETECT_BATCH = Endpoint(
    "/detect/batch",
    BatchDetectRequest,
    BatchDetectResponse,
    None,
    "Up to DETECTOR_MAX_BATCH_IMAGES images in one forward pass; results in order.",
)
PREDICT = {
    version: Endpoint(
        f"/{version}/predict",
        DetectRequest,  # the same fields; only the answer's shape differs
        PredictResponse,
        None,
        f"Object detection on model version {version} (the MLOps specification's response shape).",
    )
    for version in VERSIONS
}
