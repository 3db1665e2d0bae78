"""Threat severity, pet mapping and distance rules."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from ai.contracts.images import Box
from ai.enrichment.depth_rules import depth_in_box, depth_png_base64, distance_from_relative, proximity_label
from ai.enrichment.pet_rules import breed_name, pet_from_probabilities
from ai.enrichment.threat_rules import most_severe, severity_of, threat_type_of


@pytest.mark.parametrize(
    ("label", "kind"),
    [
        ("knife", "knife"),
        ("Kitchen-Knife", "knife"),
        ("machete", "knife"),
        ("gun", "gun"),
        ("pistol", "gun"),
        ("rifle", "gun"),
        ("Handgun", "gun"),
        ("bat", "weapon"),
        ("axe", "weapon"),
        ("crowbar", "weapon"),
    ],
)
def test_threat_type_from_label(label: str, kind: str) -> None:
    assert threat_type_of(label) == kind


def test_severity_rises_with_weapon_kind_and_confidence() -> None:
    assert severity_of("gun", 0.9) == "critical"
    assert severity_of("gun", 0.4) == "high"
    assert severity_of("knife", 0.7) == "high"
    assert severity_of("knife", 0.3) == "medium"
    assert severity_of("weapon", 0.7) == "medium"
    assert severity_of("weapon", 0.3) == "low"
    assert severity_of("none", 0.0) == "low"


def test_most_severe_prefers_severity_over_confidence() -> None:
    assert most_severe([("weapon", 0.95), ("gun", 0.5)]) == ("gun", 0.5, "high")
    assert most_severe([("knife", 0.65), ("knife", 0.9)]) == ("knife", 0.9, "high")
    assert most_severe([]) is None


def _imagenet(**probabilities: float) -> tuple[list[str], list[float]]:
    labels = [f"class {i}" for i in range(1000)]
    labels[207], labels[281], labels[162] = "golden retriever", "tabby, tabby cat", "beagle"
    values = [0.0] * 1000
    for index, value in probabilities.items():
        values[int(index.removeprefix("i"))] = value
    return labels, values


def test_imagenet_dog_breeds_add_up_to_dog() -> None:
    labels, probs = _imagenet(i207=0.3, i162=0.25, i281=0.4)
    verdict = pet_from_probabilities(labels, probs)
    assert (verdict.pet_type, verdict.breed) == ("dog", "golden retriever")
    assert verdict.confidence == pytest.approx(0.55)
    assert verdict.is_household_pet
    assert verdict.label == "tabby, tabby cat"  # the single best class is a cat, the mass is dog


def test_imagenet_cat_and_non_pet() -> None:
    labels, probs = _imagenet(i281=0.7)
    assert pet_from_probabilities(labels, probs).breed == "tabby"
    labels, probs = _imagenet(i281=0.1, i207=0.05, i500=0.85)
    assert not pet_from_probabilities(labels, probs).is_household_pet


def test_generic_cat_dog_classifier_has_no_breed() -> None:
    verdict = pet_from_probabilities(["cat", "dog"], [0.2, 0.8])
    assert (verdict.pet_type, verdict.breed, verdict.confidence) == ("dog", "unknown", 0.8)
    assert breed_name("Egyptian cat") == "Egyptian cat"


def test_depth_statistics_over_a_box() -> None:
    values = np.tile(np.linspace(0.0, 1.0, 10, dtype=np.float32), (10, 1))  # depth grows left to right
    box = Box(2, 0, 6, 10)
    assert depth_in_box(values, box, "min") == pytest.approx(2 / 9)
    assert depth_in_box(values, box, "mean") == pytest.approx(3.5 / 9)
    assert depth_in_box(values, box, "median") == pytest.approx(3.5 / 9)
    assert depth_in_box(values, box, "center") == pytest.approx(4 / 9)


def test_distance_and_proximity() -> None:
    assert distance_from_relative(0.35, 10.0) == 3.5
    assert proximity_label(3.5) == "close"
    assert proximity_label(1.0) == "very_close"
    assert proximity_label(6.0) == "medium"
    assert proximity_label(12.0) == "far"


def test_depth_png_has_the_map_size_and_full_range() -> None:
    values = np.arange(12, dtype=np.float32).reshape(3, 4)
    image = Image.open(io.BytesIO(base64.b64decode(depth_png_base64(values))))
    assert image.format == "PNG" and image.size == (4, 3) and image.mode == "L"
    pixels = np.asarray(image)
    assert pixels.min() == 0 and pixels.max() == 255


def test_age_estimate_from_bins_and_brackets() -> None:
    from ai.enrichment.demographics_rules import age_bracket, bin_midpoint, estimate_age

    labels = ["0-2", "3-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "more than 70"]
    assert bin_midpoint("20-29") == 24.5 and bin_midpoint("more than 70") == 75 and bin_midpoint("70+") == 75
    probabilities = [0, 0, 0, 0.5, 0.5, 0, 0, 0, 0]
    assert estimate_age(labels, probabilities) == ("25-35", 0.5, 29.5)
    assert estimate_age(labels, [0, 0, 0, 0, 0, 0, 0, 0, 1.0]) == ("65+", 1.0, 75.0)
    assert [age_bracket(a) for a in (5, 15, 20, 30, 40, 60, 80)] == [
        "0-12",
        "13-17",
        "18-24",
        "25-35",
        "36-50",
        "51-65",
        "65+",
    ]
    assert estimate_age(["child", "adult"], [0.2, 0.8]) == ("adult", 0.8, None)


def test_gender_from_labels_with_a_confidence_floor() -> None:
    from ai.enrichment.demographics_rules import gender_from

    assert gender_from(["female", "male"], [0.2, 0.8], 0.6) == ("male", 0.8)
    assert gender_from(["Woman", "Man"], [0.7, 0.3], 0.6) == ("female", 0.7)
    assert gender_from(["female", "male"], [0.45, 0.55], 0.6) == ("unknown", 0.55)


def test_vehicle_commercial_types() -> None:
    from ai.enrichment.vehicle import COMMERCIAL_TYPES

    assert {"work_van", "articulated_truck"} <= COMMERCIAL_TYPES and "car" not in COMMERCIAL_TYPES


def test_violent_probability_ignores_the_non_violent_class() -> None:
    from ai.enrichment.scene import violent_probability

    assert violent_probability(["non_violent", "violent"], [0.3, 0.7]) == pytest.approx(0.7)
    assert violent_probability(["Non-Violence", "Violence"], [0.9, 0.1]) == pytest.approx(0.1)
    assert violent_probability(["normal", "fight"], [0.4, 0.6]) == pytest.approx(0.6)
