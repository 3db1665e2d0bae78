"""``POST /vehicle-classify``: vehicle type, display name, commercial or not."""

from __future__ import annotations

from ai.contracts.enrichment import VehicleResult
from ai.contracts.enrichment_endpoints import VEHICLE
from ai.runtime.declarations import ModelEndpoint
from ai.runtime.families.tasks import Classification, Task

COMMERCIAL_TYPES = frozenset({"articulated_truck", "single_unit_truck", "work_van", "bus"})


def vehicle_result(classification: Classification) -> VehicleResult:
    label, confidence = classification.top
    kind = label.strip().lower().replace(" ", "_").replace("-", "_")
    return VehicleResult(
        vehicle_type=kind,
        display_name=kind.replace("_", " "),
        confidence=round(confidence, 4),
        is_commercial=kind in COMMERCIAL_TYPES,
        all_scores={name: round(p, 4) for name, p in classification.ranked()},
    )


VEHICLE_ENDPOINT = ModelEndpoint(
    VEHICLE, Task.CLASSIFY, lambda call: call.image.image, lambda _call, out: vehicle_result(out), min_side=224
)
