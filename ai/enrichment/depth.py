"""Depth estimation and object distance."""

from __future__ import annotations

from PIL import Image

from ai.contracts.enrichment import DistanceMethod, DistanceResult
from ai.contracts.images import Box
from ai.enrichment.distance import depth_in_box, distance_from_relative, proximity_label
from ai.runtime.families.hf_depth import HFDepth
from ai.runtime.families.outputs import DepthMap


def estimate_depth(model: HFDepth, image: Image.Image) -> DepthMap:
    return model.estimate([image])[0]


def object_distance(
    model: HFDepth, image: Image.Image, box: Box, method: DistanceMethod, max_distance_m: float
) -> DistanceResult:
    """Distance to the object in ``box`` from the depth map of the whole image."""
    depth = estimate_depth(model, image)
    value = depth_in_box(depth.values, box, method)
    if depth.is_metric:
        metres = round(value, 2)
        relative = value / max(float(depth.values.max()), 1e-6)
    else:
        metres = distance_from_relative(value, max_distance_m)
        relative = value
    return DistanceResult(
        estimated_distance_m=metres,
        relative_depth=round(relative, 4),
        proximity_label=proximity_label(metres),
        method=method,
    )
