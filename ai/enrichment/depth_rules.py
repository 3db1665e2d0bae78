"""Depth-map statistics and object distance over a box: pure functions."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from ai.contracts.enrichment import DistanceMethod, ProximityLabel
from ai.contracts.images import Box

PROXIMITY_LIMITS_M: tuple[tuple[float, ProximityLabel], ...] = ((1.5, "very_close"), (4.0, "close"), (8.0, "medium"))


def depth_png_base64(values: np.ndarray) -> str:
    """8-bit grey PNG of a depth map: 0 = nearest, 255 = farthest."""
    low, high = float(values.min()), float(values.max())
    span = high - low
    scaled = (values - low) / span if span > 1e-12 else np.zeros_like(values)
    buffer = io.BytesIO()
    Image.fromarray((scaled * 255.0).round().astype(np.uint8), mode="L").save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def region(values: np.ndarray, box: Box) -> np.ndarray:
    """The depth values inside ``box`` (clamped; at least one pixel)."""
    height, width = values.shape
    x1 = min(max(int(box.x1), 0), width - 1)
    y1 = min(max(int(box.y1), 0), height - 1)
    x2 = max(min(round(box.x2), width), x1 + 1)
    y2 = max(min(round(box.y2), height), y1 + 1)
    return values[y1:y2, x1:x2]


def depth_in_box(values: np.ndarray, box: Box, method: DistanceMethod) -> float:
    patch = region(values, box)
    if method == "center":
        return float(patch[patch.shape[0] // 2, patch.shape[1] // 2])
    if method == "mean":
        return float(patch.mean())
    if method == "min":
        return float(patch.min())
    return float(np.median(patch))


def proximity_label(distance_m: float) -> ProximityLabel:
    for limit, label in PROXIMITY_LIMITS_M:
        if distance_m < limit:
            return label
    return "far"


def distance_from_relative(relative: float, max_distance_m: float) -> float:
    """Relative depth (0 nearest .. 1 farthest of the scene) to an estimate in metres.

    A heuristic: a relative model has no scale, so the scene's depth range is taken
    as ``DEPTH_MAX_DISTANCE_M`` (a typical camera's field). Metric models skip this.
    """
    return round(max(0.0, min(1.0, relative)) * max_distance_m, 2)
