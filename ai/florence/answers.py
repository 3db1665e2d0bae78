"""The processor's parsed answers as the contract's fields, in pixels of the submitted
image (the model saw the decoded crop; its offset and decode scale are undone here)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ai.contracts.florence import LabeledBox, LabeledPolygon, OcrRegion
from ai.runtime.declarations import Call

_TOKENS = re.compile(r"<?loc_\d+>|</?s>|<pad>|<unk>")  # a weak model leaves halves of location tokens too


def clean(text: Any) -> str:
    """Text without model tokens: a stray location token in a caption or a label (a
    weak model can emit one anywhere) is not text."""
    return " ".join(_TOKENS.sub(" ", str(text)).split())


class Placement:
    """Maps a point the model gave (pixels of the image it saw) to the submitted image."""

    def __init__(self, call: Call) -> None:
        self.dx, self.dy = call.offset
        self.scale = call.image.scale

    def xy(self, values: Sequence[float]) -> list[float]:
        """Flat [x, y, x, y, ...] in source pixels, one decimal."""
        return [round(v / self.scale + (self.dx if i % 2 == 0 else self.dy), 1) for i, v in enumerate(values)]


def text_of(answer: Any) -> str:
    """A text task's answer (caption, OCR); a structured answer has no text."""
    return clean(answer) if isinstance(answer, str) else ""


def boxes_of(answer: Any, place: Placement) -> list[LabeledBox]:
    """Boxes of detection, dense-caption, grounding and open-vocabulary answers."""
    if not isinstance(answer, dict):
        return []
    labels = answer.get("labels", answer.get("bboxes_labels", []))
    return [
        LabeledBox(label=clean(label), bbox=place.xy(_ordered(box)))
        for box, label in zip(answer.get("bboxes", []), labels, strict=False)
        if len(box) == 4
    ]


def _ordered(box: Sequence[float]) -> list[float]:
    """[x1, y1, x2, y2] with x1 <= x2 and y1 <= y2 (the model may emit corners in any order)."""
    x1, y1, x2, y2 = box
    return [min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)]


def ocr_regions_of(answer: Any, place: Placement) -> list[OcrRegion]:
    if not isinstance(answer, dict):
        return []
    regions = []
    for quad, text in zip(answer.get("quad_boxes", []), answer.get("labels", []), strict=False):
        if len(quad) != 8:
            continue
        points = place.xy(quad)
        xs, ys = points[0::2], points[1::2]
        regions.append(OcrRegion(text=clean(text), quad_box=points, bbox=[min(xs), min(ys), max(xs), max(ys)]))
    return regions


def polygons_of(answer: Any, place: Placement) -> list[LabeledPolygon]:
    """Open-vocabulary polygons: each label has one or more flat [x, y, ...] rings."""
    if not isinstance(answer, dict):
        return []
    polygons = []
    for rings, label in zip(answer.get("polygons", []), answer.get("polygons_labels", []), strict=False):
        for ring in rings if rings and isinstance(rings[0], list) else [rings]:
            flat = place.xy(ring)
            if len(flat) >= 6:
                polygons.append(
                    LabeledPolygon(
                        label=str(label).strip(), points=[flat[i : i + 2] for i in range(0, len(flat) - 1, 2)]
                    )
                )
    return polygons
