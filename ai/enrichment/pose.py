"""``POST /pose-analyze``: the most confident person's keypoints, posture and alerts."""

from __future__ import annotations

from PIL import Image

from ai.contracts.enrichment import COCO_KEYPOINT_NAMES, Keypoint, PoseResult
from ai.contracts.enrichment_endpoints import POSE, VITPOSE
from ai.enrichment.posture import alerts_from_keypoints, posture_from_keypoints
from ai.enrichment.settings import EnrichmentSettings
from ai.runtime.declarations import Call, ModelEndpoint
from ai.runtime.families.tasks import DetectInput, Detection, Task

MAX_PEOPLE = 5


def pose_input(image: Image.Image, settings: EnrichmentSettings) -> DetectInput:
    return DetectInput(image, settings.pose_confidence, MAX_PEOPLE)


def pose_result(
    people: list[Detection], offset: tuple[float, float], keypoint_confidence: float, model: str = "pose_estimator"
) -> PoseResult:
    """Keypoints in the submitted image's coordinates (``offset`` undoes a bbox crop)."""
    people = [d for d in people if d.keypoints]
    if not people:
        return PoseResult(keypoints=[], posture="unknown", alerts=[], person_confidence=None, model=model)
    best = people[0]
    dx, dy = offset
    points = [(x + dx, y + dy, c) for x, y, c in best.keypoints]
    posture = posture_from_keypoints(points, keypoint_confidence)
    return PoseResult(
        keypoints=[
            Keypoint(name=name, x=round(x, 1), y=round(y, 1), confidence=round(c, 4))
            for name, (x, y, c) in zip(COCO_KEYPOINT_NAMES, points, strict=False)
        ],
        posture=posture,
        alerts=alerts_from_keypoints(points, posture, keypoint_confidence),
        person_confidence=round(best.confidence, 4),
        model=model,
    )


def _prepare(call: Call) -> DetectInput:
    return pose_input(call.image.image, call.settings)


def _finish(call: Call, people: list[Detection]) -> PoseResult:
    return pose_result(people, call.offset, call.settings.keypoint_confidence)


POSE_ENDPOINT = ModelEndpoint(POSE, Task.POSE, _prepare, _finish)
VITPOSE_ENDPOINT = ModelEndpoint(
    VITPOSE,
    Task.POSE,
    _prepare,
    lambda call, people: pose_result(people, call.offset, call.settings.keypoint_confidence, "vitpose"),
)
