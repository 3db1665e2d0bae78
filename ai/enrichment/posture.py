"""Posture and security alerts from 17 COCO keypoints: pure, single-frame geometry.

Image coordinates (y grows downward). Lengths are in units of the torso (shoulder
midpoint to hip midpoint), so the rules do not depend on how large the person is
in the frame. Keypoints below ``min_confidence`` count as not seen. One frame
cannot always tell walking from standing (e.g. seen from the front); the rules err
towards ``standing``, and towards ``unknown`` when the body is not visible enough.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

from ai.contracts.enrichment import COCO_KEYPOINT_NAMES, PoseAlert, Posture

INDEX = {name: i for i, name in enumerate(COCO_KEYPOINT_NAMES)}

LYING_TILT_DEG = 60.0  # torso further than this from vertical
CROUCH_LEG_RATIO = 0.75  # hip-to-ankle height, in torsos, below which hips are "low"
CROUCH_KNEE_DEG = 110.0
SIT_THIGH_RATIO = 0.35  # knee within this many torsos of hip height = thigh level
SIT_KNEE_DEG = 135.0
RUN_STRIDE = 1.1  # horizontal ankle separation, in torsos
RUN_STRIDE_BENT = 0.8
RUN_KNEE_DEG = 120.0
WALK_STRIDE = 0.5
HANDS_RAISED_MARGIN = 0.25  # wrists this far above the shoulder line
GUARD_ELBOW_DEG = 110.0


class Point(NamedTuple):
    x: float
    y: float


Keypoints = Sequence[tuple[float, float, float]]


class Body:
    """The visible points of one person."""

    def __init__(self, keypoints: Keypoints, min_confidence: float) -> None:
        self.points: dict[str, Point] = {}
        for name, (x, y, confidence) in zip(COCO_KEYPOINT_NAMES, keypoints, strict=False):
            if confidence >= min_confidence and math.isfinite(x) and math.isfinite(y):
                self.points[name] = Point(x, y)

    def get(self, name: str) -> Point | None:
        return self.points.get(name)

    def mid(self, left: str, right: str) -> Point | None:
        a, b = self.get(left), self.get(right)
        if a and b:
            return Point((a.x + b.x) / 2, (a.y + b.y) / 2)
        return a or b

    @property
    def shoulders(self) -> Point | None:
        return self.mid("left_shoulder", "right_shoulder")

    @property
    def hips(self) -> Point | None:
        return self.mid("left_hip", "right_hip")

    def torso(self) -> float | None:
        shoulders, hips = self.shoulders, self.hips
        if shoulders is None or hips is None:
            return None
        length = math.dist(shoulders, hips)
        return length if length > 1e-6 else None

    def joint_angle(self, a: str, b: str, c: str) -> float | None:
        """Angle at ``b`` in degrees (180 = straight), if all three points are seen."""
        pa, pb, pc = self.get(a), self.get(b), self.get(c)
        if not (pa and pb and pc):
            return None
        v1 = (pa.x - pb.x, pa.y - pb.y)
        v2 = (pc.x - pb.x, pc.y - pb.y)
        norm = math.hypot(*v1) * math.hypot(*v2)
        if norm < 1e-9:
            return None
        cosine = max(-1.0, min(1.0, (v1[0] * v2[0] + v1[1] * v2[1]) / norm))
        return math.degrees(math.acos(cosine))

    def knee_angles(self) -> list[float]:
        sides = (("left_hip", "left_knee", "left_ankle"), ("right_hip", "right_knee", "right_ankle"))
        return [a for a in (self.joint_angle(*side) for side in sides) if a is not None]


def torso_tilt_degrees(body: Body) -> float | None:
    """0 when the torso is upright, 90 when horizontal."""
    shoulders, hips = body.shoulders, body.hips
    if shoulders is None or hips is None:
        return None
    dx, dy = shoulders.x - hips.x, shoulders.y - hips.y
    return math.degrees(math.atan2(abs(dx), abs(dy))) if (dx or dy) else None


def posture_from_keypoints(keypoints: Keypoints, min_confidence: float = 0.3) -> Posture:
    """Classify one person's posture from its keypoints (x, y, confidence)."""
    body = Body(keypoints, min_confidence)
    torso, tilt = body.torso(), torso_tilt_degrees(body)
    if torso is None or tilt is None:
        return "unknown"
    if tilt > LYING_TILT_DEG:
        return "lying_down"
    hips, knees, ankles = body.hips, body.mid("left_knee", "right_knee"), body.mid("left_ankle", "right_ankle")
    if knees is None and ankles is None:
        return "unknown"  # legs not visible: an upper-body crop says nothing about posture
    angles = body.knee_angles()
    most_bent = min(angles) if angles else 180.0
    assert hips is not None  # torso() implies it
    if ankles is not None:
        leg_ratio = (ankles.y - hips.y) / torso
        if leg_ratio < CROUCH_LEG_RATIO and most_bent < CROUCH_KNEE_DEG:
            return "crouching"
    thigh_level = knees is not None and abs(knees.y - hips.y) < SIT_THIGH_RATIO * torso
    shin_down = ankles is None or (knees is not None and ankles.y - knees.y > 0.4 * torso)
    if thigh_level and shin_down and most_bent < SIT_KNEE_DEG:
        return "sitting"
    left, right = body.get("left_ankle"), body.get("right_ankle")
    if left and right:
        stride = abs(left.x - right.x) / torso
        if stride >= RUN_STRIDE or (stride >= RUN_STRIDE_BENT and most_bent < RUN_KNEE_DEG):
            return "running"
        if stride >= WALK_STRIDE:
            return "walking"
    return "standing"


def hands_raised(body: Body, torso: float) -> bool:
    shoulders = body.shoulders
    wrists = [body.get("left_wrist"), body.get("right_wrist")]
    if shoulders is None or not all(wrists):
        return False
    line = shoulders.y - HANDS_RAISED_MARGIN * torso
    return all(w.y < line for w in wrists if w)


def fighting_stance(body: Body, torso: float) -> bool:
    """Both fists up at face-to-chest height with elbows bent (a guard)."""
    shoulders = body.shoulders
    wrists = [body.get("left_wrist"), body.get("right_wrist")]
    elbows = [
        body.joint_angle("left_shoulder", "left_elbow", "left_wrist"),
        body.joint_angle("right_shoulder", "right_elbow", "right_wrist"),
    ]
    if shoulders is None or not all(wrists) or any(e is None for e in elbows):
        return False
    high, low = shoulders.y - 0.5 * torso, shoulders.y + 0.35 * torso
    guard = all(w is not None and high <= w.y <= low for w in wrists)
    return guard and all(e is not None and e < GUARD_ELBOW_DEG for e in elbows)


def alerts_from_keypoints(keypoints: Keypoints, posture: Posture, min_confidence: float = 0.3) -> list[PoseAlert]:
    """Security alerts: crouching (hiding / break-in), lying_down (medical emergency),
    hands_raised (robbery or surrender), fighting_stance (aggression)."""
    alerts: list[PoseAlert] = []
    if posture == "crouching":
        alerts.append("crouching")
    if posture == "lying_down":
        alerts.append("lying_down")
    body = Body(keypoints, min_confidence)
    torso = body.torso()
    if torso is None or posture == "lying_down":
        return alerts
    if hands_raised(body, torso):
        alerts.append("hands_raised")
    elif fighting_stance(body, torso):
        alerts.append("fighting_stance")
    return alerts
