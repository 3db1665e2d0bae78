"""Posture and alert rules on hand-made skeletons (image coordinates, y down)."""

from __future__ import annotations

import pytest

from ai.contracts.enrichment import COCO_KEYPOINT_NAMES
from ai.enrichment.posture import alerts_from_keypoints, posture_from_keypoints

HEAD = {"nose": (100, 60), "left_eye": (95, 55), "right_eye": (105, 55), "left_ear": (90, 58), "right_ear": (110, 58)}
ARMS_DOWN = {"left_elbow": (85, 150), "right_elbow": (115, 150), "left_wrist": (85, 195), "right_wrist": (115, 195)}
TORSO = {"left_shoulder": (90, 100), "right_shoulder": (110, 100), "left_hip": (92, 200), "right_hip": (108, 200)}


def skeleton(
    points: dict[str, tuple[float, float]], confidence: float = 0.9, low: frozenset[str] = frozenset()
) -> list[tuple[float, float, float]]:
    """17 keypoints; unnamed ones are unseen (confidence 0), ``low`` ones at 0.1."""
    result = []
    for name in COCO_KEYPOINT_NAMES:
        if name in points:
            x, y = points[name]
            result.append((float(x), float(y), 0.1 if name in low else confidence))
        else:
            result.append((0.0, 0.0, 0.0))
    return result


def legs(
    knees: tuple[tuple[float, float], tuple[float, float]], ankles: tuple[tuple[float, float], tuple[float, float]]
) -> dict[str, tuple[float, float]]:
    return {"left_knee": knees[0], "right_knee": knees[1], "left_ankle": ankles[0], "right_ankle": ankles[1]}


STANDING = {**HEAD, **TORSO, **ARMS_DOWN, **legs(((93, 300), (107, 300)), ((94, 400), (106, 400)))}
WALKING = {**HEAD, **TORSO, **ARMS_DOWN, **legs(((85, 300), (115, 300)), ((70, 400), (130, 400)))}
RUNNING = {**HEAD, **TORSO, **ARMS_DOWN, **legs(((70, 290), (130, 290)), ((40, 390), (160, 390)))}
SITTING = {
    **HEAD,
    "left_shoulder": (100, 100),
    "right_shoulder": (102, 100),
    "left_hip": (100, 200),
    "right_hip": (102, 200),
    **ARMS_DOWN,
    **legs(((150, 205), (152, 205)), ((150, 300), (152, 300))),
}
CROUCHING = {
    "nose": (110, 110),
    "left_shoulder": (98, 150),
    "right_shoulder": (102, 150),
    "left_hip": (98, 250),
    "right_hip": (102, 250),
    **legs(((130, 240), (132, 240)), ((110, 300), (112, 300))),
}
LYING = {
    "nose": (40, 300),
    "left_shoulder": (100, 300),
    "right_shoulder": (100, 312),
    "left_hip": (200, 302),
    "right_hip": (200, 314),
    **legs(((300, 303), (300, 315)), ((400, 305), (400, 317))),
}
HANDS_UP = {
    **STANDING,
    "left_elbow": (80, 70),
    "right_elbow": (120, 70),
    "left_wrist": (85, 40),
    "right_wrist": (115, 40),
}
GUARD = {
    **STANDING,
    "left_elbow": (80, 160),
    "right_elbow": (120, 160),
    "left_wrist": (95, 110),
    "right_wrist": (105, 110),
}


@pytest.mark.parametrize(
    ("points", "expected"),
    [
        (STANDING, "standing"),
        (WALKING, "walking"),
        (RUNNING, "running"),
        (SITTING, "sitting"),
        (CROUCHING, "crouching"),
        (LYING, "lying_down"),
    ],
    ids=["standing", "walking", "running", "sitting", "crouching", "lying"],
)
def test_posture_of_hand_made_skeletons(points: dict, expected: str) -> None:
    assert posture_from_keypoints(skeleton(points)) == expected


def test_posture_does_not_depend_on_scale_or_position() -> None:
    scaled = {name: (x * 3 + 500, y * 3 + 40) for name, (x, y) in CROUCHING.items()}
    assert posture_from_keypoints(skeleton(scaled)) == "crouching"


@pytest.mark.parametrize(
    ("points", "alerts"),
    [
        (STANDING, []),
        (CROUCHING, ["crouching"]),
        (LYING, ["lying_down"]),
        (HANDS_UP, ["hands_raised"]),
        (GUARD, ["fighting_stance"]),
    ],
    ids=["none", "crouching", "lying", "hands_raised", "fighting_stance"],
)
def test_alerts_of_hand_made_skeletons(points: dict, alerts: list[str]) -> None:
    keypoints = skeleton(points)
    assert alerts_from_keypoints(keypoints, posture_from_keypoints(keypoints)) == alerts


def test_one_raised_hand_is_not_hands_raised() -> None:
    waving = {**STANDING, "left_elbow": (80, 70), "left_wrist": (85, 40)}
    keypoints = skeleton(waving)
    assert "hands_raised" not in alerts_from_keypoints(keypoints, posture_from_keypoints(keypoints))


def test_low_confidence_keypoints_are_ignored() -> None:
    everything_faint = skeleton(STANDING, confidence=0.1)
    assert posture_from_keypoints(everything_faint) == "unknown"
    assert alerts_from_keypoints(everything_faint, "unknown") == []
    # Hips seen only faintly: no torso, no posture.
    assert posture_from_keypoints(skeleton(STANDING, low=frozenset({"left_hip", "right_hip"}))) == "unknown"
    # Faint raised wrists must not raise an alarm.
    faint_hands = skeleton(HANDS_UP, low=frozenset({"left_wrist", "right_wrist"}))
    assert alerts_from_keypoints(faint_hands, posture_from_keypoints(faint_hands)) == []
    # A faint, far-flung ankle must not turn standing into running.
    outlier = {**STANDING, "right_ankle": (400, 400)}
    assert posture_from_keypoints(skeleton(outlier, low=frozenset({"right_ankle"}))) == "standing"


def test_the_threshold_is_configurable() -> None:
    keypoints = skeleton(STANDING, confidence=0.2)
    assert posture_from_keypoints(keypoints, min_confidence=0.3) == "unknown"
    assert posture_from_keypoints(keypoints, min_confidence=0.15) == "standing"


def test_upper_body_only_is_unknown_not_standing() -> None:
    upper = {**HEAD, **TORSO, **ARMS_DOWN}
    assert posture_from_keypoints(skeleton(upper)) == "unknown"


def test_fewer_than_17_points_or_garbage_does_not_crash() -> None:
    assert posture_from_keypoints([(1.0, 2.0, 0.9)] * 3) == "unknown"
    assert posture_from_keypoints([(float("nan"), 1.0, 0.9)] * 17) == "unknown"
