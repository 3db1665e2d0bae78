"""Pose analysis: the most confident person's keypoints, posture and alerts."""

from __future__ import annotations

from PIL import Image

from ai.contracts.enrichment import COCO_KEYPOINT_NAMES, Keypoint, PoseResult
from ai.enrichment.posture import alerts_from_keypoints, posture_from_keypoints
from ai.runtime.families.ultralytics_base import UltralyticsAdapter

MAX_PEOPLE = 5


def analyze_pose(
    model: UltralyticsAdapter,
    image: Image.Image,
    offset: tuple[float, float],
    person_confidence: float,
    keypoint_confidence: float,
) -> PoseResult:
    """Keypoints in the submitted image's coordinates (``offset`` undoes a bbox crop)."""
    people = [d for d in model.predict([image], conf=person_confidence, max_det=MAX_PEOPLE)[0] if d.keypoints]
    if not people:
        return PoseResult(keypoints=[], posture="unknown", alerts=[], person_confidence=None)
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
    )
