"""Florence-2's generated text parsed into the contract, on hand-written generations for
every task: random demo weights generate nothing meaningful, so the parsing is proven
here on strings of the real format, through the demo checkpoint's own processor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from ai.contracts.images import Box
from ai.florence.answers import Placement, boxes_of, ocr_regions_of, polygons_of, text_of
from ai.runtime.declarations import Call
from ai.runtime.families.hf_base import import_transformers
from ai.runtime.families.hf_florence import parse_generation
from ai.runtime.image_request import DecodedImage

W, H = 640, 480  # the analysed image; a location bin is 0.64 x 0.48 px


@pytest.fixture(scope="module")
def processor(florence_models: Path) -> Any:
    return import_transformers().AutoProcessor.from_pretrained(
        florence_models / "model-zoo" / "florence", local_files_only=True
    )


def call(crop: Box | None = None, scale: float = 1.0) -> Call:
    image = DecodedImage(Image.new("RGB", (W, H)), (1920, 1080), crop, scale)
    return Call(body=None, image=image, settings=None)


def parse(processor: Any, task: str, generated: str) -> Any:
    return parse_generation(processor, f"</s><s>{generated}</s>", task, (W, H))


def test_object_detection_boxes_are_pixels_of_the_image(processor: Any) -> None:
    answer = parse(processor, "<OD>", "car<loc_54><loc_375><loc_906><loc_707>door<loc_710><loc_276><loc_908><loc_537>")
    boxes = boxes_of(answer, Placement(call()))
    assert [b.label for b in boxes] == ["car", "door"]
    # bin centre: (54 + 0.5) * 0.64 = 34.9 -> 34 px; (707 + 0.5) * 0.48 = 339.6 -> 339 px
    assert boxes[0].bbox == [34.0, 180.0, 580.0, 339.0]
    assert boxes[1].bbox == [454.0, 132.0, 581.0, 258.0]


def test_boxes_of_a_crop_are_moved_to_the_submitted_image(processor: Any) -> None:
    answer = parse(processor, "<OD>", "car<loc_54><loc_375><loc_906><loc_707>")
    crop = Box(100.0, 50.0, 100.0 + W, 50.0 + H)
    assert boxes_of(answer, Placement(call(crop)))[0].bbox == [134.0, 230.0, 680.0, 389.0]


def test_boxes_of_a_reduced_decode_are_scaled_back(processor: Any) -> None:
    answer = parse(processor, "<OD>", "car<loc_54><loc_375><loc_906><loc_707>")
    assert boxes_of(answer, Placement(call(scale=0.5)))[0].bbox == [68.0, 360.0, 1160.0, 678.0]


def test_dense_region_captions_keep_their_phrases(processor: Any) -> None:
    answer = parse(
        processor,
        "<DENSE_REGION_CAPTION>",
        "a man in a dark hoodie<loc_100><loc_200><loc_300><loc_900>a white van<loc_500><loc_400><loc_990><loc_800>",
    )
    boxes = boxes_of(answer, Placement(call()))
    assert [b.label for b in boxes] == ["a man in a dark hoodie", "a white van"]
    assert boxes[1].bbox == [320.0, 192.0, 633.0, 384.0]


def test_ocr_with_regions_gives_text_and_quads(processor: Any) -> None:
    answer = parse(
        processor,
        "<OCR_WITH_REGION>",
        "ABC 1234<loc_100><loc_100><loc_300><loc_100><loc_300><loc_200><loc_100><loc_200>"
        "STOP<loc_500><loc_500><loc_600><loc_510><loc_590><loc_600><loc_490><loc_590>",
    )
    regions = ocr_regions_of(answer, Placement(call()))
    assert [r.text for r in regions] == ["ABC 1234", "STOP"]
    assert regions[0].quad_box == [64.0, 48.0, 192.0, 48.0, 192.0, 96.0, 64.0, 96.0]
    assert regions[0].bbox == [64.0, 48.0, 192.0, 96.0]
    assert regions[1].bbox == [313.0, 240.0, 384.0, 288.0]  # the enclosing box of a tilted quad


def test_phrase_grounding_gives_a_box_per_phrase_and_drops_banned_ones(processor: Any) -> None:
    answer = parse(
        processor,
        "<CAPTION_TO_PHRASE_GROUNDING>",
        "a person<loc_10><loc_20><loc_500><loc_900>the image<loc_0><loc_0><loc_999><loc_999>",
    )
    boxes = boxes_of(answer, Placement(call()))
    assert [(b.label, b.bbox) for b in boxes] == [("a person", [6.0, 9.0, 320.0, 432.0])]


def test_open_vocabulary_detection_gives_boxes_and_polygons(processor: Any) -> None:
    answer = parse(processor, "<OPEN_VOCABULARY_DETECTION>", "a red car<loc_10><loc_20><loc_500><loc_900>")
    place = Placement(call())
    assert [(b.label, b.bbox) for b in boxes_of(answer, place)] == [("a red car", [6.0, 9.0, 320.0, 432.0])]
    assert polygons_of(answer, place) == []
    polygon = polygons_of({"polygons": [[[0, 0, 10, 0, 10, 10]]], "polygons_labels": ["x"]}, place)
    assert polygon[0].label == "x" and polygon[0].points == [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0]]


@pytest.mark.parametrize("task", ["<CAPTION>", "<DETAILED_CAPTION>", "<MORE_DETAILED_CAPTION>", "<OCR>"])
def test_text_tasks_give_clean_text(processor: Any, task: str) -> None:
    answer = parse(processor, task, "A white van parked in a driveway at night.")
    assert text_of(answer) == "A white van parked in a driveway at night."
    assert boxes_of(answer, Placement(call())) == []


def test_no_raw_location_tokens_survive_in_labels(processor: Any) -> None:
    answer = parse(processor, "<OD>", "car<loc_54><loc_375><loc_906><loc_707>")
    assert not any("<loc_" in b.label for b in boxes_of(answer, Placement(call())))


def test_stray_location_tokens_never_reach_text_or_labels(processor: Any) -> None:
    caption = parse(processor, "<CAPTION>", "a van<loc_855><loc_544> at night")
    assert text_of(caption) == "a van at night"
    quads = parse(processor, "<OCR_WITH_REGION>", "<loc_44>AB<loc_1><loc_1><loc_9><loc_1><loc_9><loc_9><loc_1><loc_9>")
    assert all("<loc_" not in region.text for region in ocr_regions_of(quads, Placement(call())))


def test_corners_given_in_any_order_make_an_ordered_box(processor: Any) -> None:
    answer = parse(processor, "<OD>", "car<loc_906><loc_707><loc_54><loc_375>")
    assert boxes_of(answer, Placement(call()))[0].bbox == [34.0, 180.0, 580.0, 339.0]
