"""The detail enrichments' rules on hand-made inputs: clothing flags, the suspicious
action, vehicle damage patterns, colour names, run-length masks and plate text."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ai.contracts.enrichment_detail import DamageItem
from ai.enrichment.action_rules import SUSPICIOUS_ACTIONS, action_result
from ai.enrichment.clothing import run_lengths, segments_result
from ai.enrichment.clothing_rules import clothing_result, style_of
from ai.enrichment.colors import dominant_colors
from ai.enrichment.damage_rules import damage_result
from ai.enrichment.plates import plate_text
from ai.runtime.families.tasks import Classification, SegmentationMap, TextLine


def scores(**probabilities: float) -> Classification:
    labels = [label.replace("_", " ") for label in probabilities]
    return Classification(labels, list(probabilities.values()))


def test_a_face_covering_is_suspicious_even_when_another_garment_tops_it() -> None:
    result = clothing_result(scores(hoodie=0.5, balaclava=0.3, jacket=0.2), ["blue"], is_night=False)
    assert result.clothing_type == "hoodie" and result.style == "concealing"
    assert result.is_suspicious and result.suspicious_reasons == ["face covering"]


def test_all_dark_counts_only_at_night_and_a_vest_is_a_uniform_by_day() -> None:
    dark = scores(jacket=0.8, shirt=0.2)
    assert not clothing_result(dark, ["black", "gray"], is_night=False).is_suspicious
    assert clothing_result(dark, ["black", "gray"], is_night=True).suspicious_reasons == ["all dark clothing at night"]
    vest = Classification(["high-visibility vest", "jacket"], [0.7, 0.3])
    day = clothing_result(vest, ["yellow"], is_night=False)
    assert day.is_service_uniform and not day.is_suspicious and day.style == "work"
    assert clothing_result(vest, ["yellow"], is_night=True).suspicious_reasons == ["high-visibility vest at night"]
    assert style_of("suit") == "formal" and style_of("t-shirt") == "casual"


def test_the_action_is_suspicious_only_when_it_tops_the_scores() -> None:
    assert "loitering" in SUSPICIOUS_ACTIONS
    flagged = action_result(scores(loitering=0.6, walking=0.4), frames=8)
    calm = action_result(scores(walking=0.6, loitering=0.4), frames=8)
    assert flagged.is_suspicious and not calm.is_suspicious and calm.action == "walking"
    assert [s.label for s in flagged.scores] == ["loitering", "walking"] and flagged.frames_used == 8


def item(kind: str, confidence: float = 0.8) -> DamageItem:
    return DamageItem(damage_type=kind, confidence=confidence, bbox=[0, 0, 10, 10], mask_area=50)


@pytest.mark.parametrize(
    ("kinds", "night", "risk", "patterns"),
    [
        ([], True, "none", []),
        (["scratch"], False, "low", []),
        (["scratch"], True, "elevated", ["damage at night"]),
        (["dent", "scratch"], False, "high", ["likely incident"]),
        (["glass_shatter", "lamp_broken"], False, "high", ["break-in pattern", "likely incident"]),
        (["glass_shatter"], True, "critical", ["damage at night"]),
    ],
)
def test_damage_patterns_and_risk_follow_the_specification(
    kinds: list[str], night: bool, risk: str, patterns: list[str]
) -> None:
    result = damage_result([item(k) for k in kinds], is_night=night)
    assert (result.risk, result.patterns) == (risk, patterns)
    assert result.has_high_security_damage == bool({"glass_shatter", "lamp_broken"} & set(kinds))


@pytest.mark.parametrize(
    ("rgb", "name"),
    [((10, 10, 10), "black"), ((250, 250, 250), "white"), ((128, 128, 128), "gray"), ((200, 30, 30), "red"),
     ((30, 60, 200), "blue"), ((30, 160, 40), "green"), ((240, 220, 40), "yellow"), ((120, 70, 30), "brown")],
)  # fmt: skip
def test_colours_are_named(rgb: tuple[int, int, int], name: str) -> None:
    assert dominant_colors(Image.new("RGB", (40, 40), rgb)) == [name]


def test_dominant_colours_follow_the_mask_and_list_the_most_covering_first() -> None:
    pixels = np.zeros((40, 40, 3), dtype=np.uint8)
    pixels[:, :28] = (200, 30, 30)
    pixels[:, 28:] = (30, 60, 200)
    image = Image.fromarray(pixels)
    assert dominant_colors(image) == ["red", "blue"]
    mask = np.zeros((40, 40), dtype=bool)
    mask[:, 30:] = True
    assert dominant_colors(image, mask) == ["blue"]


def test_run_lengths_alternate_off_and_on_starting_off() -> None:
    mask = np.array([[1, 1, 0], [0, 1, 1]], dtype=bool)
    assert run_lengths(mask) == [0, 2, 2, 2]
    assert run_lengths(np.zeros((2, 2), dtype=bool)) == [4]


def test_segments_leave_out_the_background_and_colour_upper_and_lower_body() -> None:
    classes = np.zeros((10, 4), dtype=np.uint8)
    classes[1:5] = 1  # upper_clothes
    classes[5:9] = 2  # pants
    pixels = np.zeros((10, 4, 3), dtype=np.uint8)
    pixels[:5] = (200, 30, 30)
    pixels[5:] = (30, 60, 200)
    result = segments_result(
        SegmentationMap(["background", "upper_clothes", "pants"], classes), Image.fromarray(pixels), (100, 50)
    )
    assert [s.label for s in result.segments] == ["upper_clothes", "pants"]
    assert result.segments[0].bbox == [100, 51, 104, 55] and result.segments[0].area_fraction == 0.4
    assert (result.upper_color, result.lower_color) == ("red", "blue")


def test_plate_text_keeps_letters_digits_and_spaces_and_the_lowest_confidence() -> None:
    quad = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))
    lines = [TextLine("kx51-", 0.9, quad), TextLine("  ABC!", 0.8, quad), TextLine("··", 0.99, quad)]
    assert plate_text(lines) == ("KX51 ABC", 0.8)
    assert plate_text([TextLine("--", 0.9, quad)]) is None
