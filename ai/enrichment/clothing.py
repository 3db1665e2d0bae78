"""``POST /clothing-classify`` (zero-shot garment, colours, suspicious attire) and
``POST /clothing-segment`` (per-class masks, upper and lower body colours)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from ai.contracts.enrichment_detail import (
    ClothingResult,
    ClothingSegment,
    ClothingSegmentsResult,
    RunLengthMask,
)
from ai.contracts.enrichment_endpoints import CLOTHING, CLOTHING_SEGMENTS
from ai.enrichment.clothing_rules import clothing_result
from ai.enrichment.colors import dominant_colors, upper_body
from ai.runtime.declarations import ModelEndpoint
from ai.runtime.families.tasks import Classification, SegmentationMap, Task

UPPER = frozenset({"upper_clothes", "dress", "coat", "jacket", "shirt"})
LOWER = frozenset({"pants", "skirt", "dress", "shorts"})
BACKGROUND = frozenset({"background", "bg"})


def clothing_from(classification: Classification, crop: Image.Image, is_night: bool) -> ClothingResult:
    return clothing_result(classification, dominant_colors(upper_body(crop)), is_night)


def run_lengths(mask: np.ndarray) -> list[int]:
    """Runs of a 2-D boolean mask row by row, alternating off and on, off first."""
    flat = mask.ravel().astype(np.int8)
    changes = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate(([0], changes, [flat.size]))
    runs = np.diff(bounds).tolist()
    return [0, *runs] if flat.size and flat[0] else runs


def _label_key(label: str) -> str:
    return label.strip().lower().replace("-", "_").replace(" ", "_")


def segments_result(
    segmentation: SegmentationMap, crop: Image.Image, offset: tuple[float, float]
) -> ClothingSegmentsResult:
    """Every class present but the background, largest first, with its box in the
    submitted image and its mask over that box; colours from the pixels of the classes."""
    classes = segmentation.classes
    dx, dy = offset
    total = max(int(classes.size), 1)
    segments = []
    upper = np.zeros(classes.shape, dtype=bool)
    lower = np.zeros(classes.shape, dtype=bool)
    for index, label in enumerate(segmentation.labels):
        key = _label_key(label)
        mask = classes == index
        area = int(mask.sum())
        if not area or key in BACKGROUND:
            continue
        if key in UPPER:
            upper |= mask
        if key in LOWER:
            lower |= mask
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        y1, y2, x1, x2 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
        segments.append(
            ClothingSegment(
                label=key,
                area_fraction=round(area / total, 4),
                bbox=[x1 + dx, y1 + dy, x2 + dx, y2 + dy],
                mask=RunLengthMask(size=[y2 - y1, x2 - x1], counts=run_lengths(mask[y1:y2, x1:x2])),
            )
        )
    segments.sort(key=lambda s: -s.area_fraction)
    height, width = classes.shape
    image = crop if crop.size == (width, height) else crop.resize((width, height))
    upper_colors = dominant_colors(image, upper, most=1) if upper.any() else []
    lower_colors = dominant_colors(image, lower, most=1) if lower.any() else []
    return ClothingSegmentsResult(
        segments=segments,
        upper_color=upper_colors[0] if upper_colors else None,
        lower_color=lower_colors[0] if lower_colors else None,
    )


CLOTHING_ENDPOINT = ModelEndpoint(
    CLOTHING,
    Task.CLASSIFY,
    lambda call: call.image.image,
    lambda call, out: clothing_from(out, call.image.image, bool(call.body.is_night)),
    finish_on_thread=True,
)
SEGMENTS_ENDPOINT = ModelEndpoint(
    CLOTHING_SEGMENTS,
    Task.SEGMENT,
    lambda call: call.image.image,
    lambda call, out: segments_result(out, call.image.image, call.offset),
    finish_on_thread=True,
)
