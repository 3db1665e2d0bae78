"""The enrichment endpoints, the same on both roles: declared once for the service
(which binds them to models) and for the backend's client (which calls them)."""

from __future__ import annotations

from ai.contracts.endpoints import Endpoint
from ai.contracts.enrichment import (
    DepthResponse,
    EnrichRequest,
    EnrichResponse,
    FrameEnrichResponse,
    ObjectDistanceRequest,
    ObjectDistanceResponse,
    PetRequest,
    PetResponse,
    PoseResponse,
    ReidResponse,
    ThreatResponse,
    VehicleResponse,
)
from ai.contracts.enrichment_detail import (
    ActionRequest,
    ActionResponse,
    ClothingResponse,
    ClothingSegmentsResponse,
    DamageResponse,
    NightAwareRequest,
    OpenVocabResponse,
    PlateResponse,
)
from ai.contracts.images import ImageRequest

POSE = Endpoint(
    "/pose-analyze",
    ImageRequest,
    PoseResponse,
    "pose_estimator",
    "17 COCO keypoints of the most confident person, posture and alerts (image coordinates).",
)
THREAT = Endpoint(
    "/threat-detect",
    ImageRequest,
    ThreatResponse,
    "threat_detector",
    "Weapons (knife, gun, ...) with type and severity.",
)
REID = Endpoint(
    "/person-reid",
    ImageRequest,
    ReidResponse,
    "person_reid",
    "A 512-d L2-normalised appearance embedding of a person crop.",
)
PET = Endpoint(
    "/pet-classify",
    PetRequest,
    PetResponse,
    "pet_classifier",
    "Cat or dog, breed where the classifier knows it, and whether it is a pet at all.",
)
DEPTH = Endpoint(
    "/depth-estimate",
    ImageRequest,
    DepthResponse,
    "depth_estimator",
    "A depth map of the image (or its bbox crop) as a PNG, with statistics.",
)
DISTANCE = Endpoint(
    "/object-distance",
    ObjectDistanceRequest,
    ObjectDistanceResponse,
    "depth_estimator",
    "Distance to the object in `bbox` (center, mean, median or min of its depth).",
)
VEHICLE = Endpoint(
    "/vehicle-classify",
    ImageRequest,
    VehicleResponse,
    "vehicle_classifier",
    "Vehicle type (11 segment classes), display name, commercial or not, all scores.",
)
ENRICH = Endpoint(
    "/enrich",
    EnrichRequest,
    EnrichResponse | FrameEnrichResponse,
    None,
    "Run every model this instance hosts that a detection triggers. With `detections`, a frame's detections "
    "in one call: each model runs once over all the crops it is triggered for, and the answer has one result "
    "per detection.",
)
CLOTHING = Endpoint(
    "/clothing-classify",
    NightAwareRequest,
    ClothingResponse,
    "clothing_classifier",
    "Garment (zero-shot), dominant colours, style, suspicious attire and service uniforms.",
)
CLOTHING_SEGMENTS = Endpoint(
    "/clothing-segment",
    ImageRequest,
    ClothingSegmentsResponse,
    "clothing_segmenter",
    "Per-class clothing masks (run-length, over each class's box), area shares, upper and lower body colours.",
)
ACTION = Endpoint(
    "/action-recognize",
    ActionRequest,
    ActionResponse,
    "action_recognizer",
    "The action over a clip (earlier `frames` and the `image`), with the suspicious-action flag.",
)
DAMAGE = Endpoint(
    "/vehicle-damage",
    NightAwareRequest,
    DamageResponse,
    "vehicle_damage",
    "Damage regions with their masks' areas, damage kinds, high-security damage and incident patterns.",
)
PLATES = Endpoint(
    "/plate-read",
    ImageRequest,
    PlateResponse,
    "plate_ocr",
    "Licence plates in a vehicle image (the plate detector where hosted) and their text (PP-OCR).",
)
OPEN_VOCAB = Endpoint(
    "/open-vocab-detect",
    ImageRequest,
    OpenVocabResponse,
    "open_vocab_detector",
    "Boxes of the configured vocabulary (YOLO-World).",
)
VITPOSE = Endpoint(
    "/vitpose-analyze",
    ImageRequest,
    PoseResponse,
    "vitpose",
    "17 COCO keypoints of the person in the crop (ViTPose+), posture and alerts.",
)
