"""``POST /depth-estimate`` and ``POST /object-distance``: the depth model's two endpoints."""

from __future__ import annotations

from ai.contracts.enrichment import DistanceMethod, DistanceResult
from ai.contracts.enrichment_endpoints import DEPTH, DISTANCE
from ai.contracts.images import Box
from ai.enrichment.depth_rules import depth_in_box, depth_png_base64, distance_from_relative, proximity_label
from ai.runtime.declarations import Call, ModelEndpoint
from ai.runtime.families.tasks import DepthMap, Task


def object_distance(depth: DepthMap, box: Box, method: DistanceMethod, max_distance_m: float) -> DistanceResult:
    """Distance to the object in ``box`` from the depth map of the whole image."""
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


def _depth_fields(_call: Call, depth: DepthMap) -> dict[str, object]:
    values = depth.values
    return {
        "depth_map_base64": depth_png_base64(values),
        "min_depth": round(float(values.min()), 4),
        "max_depth": round(float(values.max()), 4),
        "mean_depth": round(float(values.mean()), 4),
        "is_metric": depth.is_metric,
        "width": int(values.shape[1]),
        "height": int(values.shape[0]),
    }


def _distance(call: Call, depth: DepthMap) -> DistanceResult:
    return object_distance(depth, call.body.bbox, call.body.method, call.settings.depth_max_distance_m)


def _image(call: Call) -> object:
    return call.image.image


# The PNG takes ~13 ms for a person crop, the median over a box a few: not on the event loop.
DEPTH_ENDPOINT = ModelEndpoint(DEPTH, Task.DEPTH, _image, _depth_fields, finish_on_thread=True)
DISTANCE_ENDPOINT = ModelEndpoint(DISTANCE, Task.DEPTH, _image, _distance, crop=False, finish_on_thread=True)
