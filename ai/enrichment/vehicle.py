"""Vehicle classification: type, display name, commercial or not."""

from __future__ import annotations

from PIL import Image

from ai.contracts.enrichment import VehicleResult
from ai.runtime.families.hf_image_classifier import HFImageClassifier

COMMERCIAL_TYPES = frozenset({"articulated_truck", "single_unit_truck", "work_van", "bus"})


def classify_vehicle(model: HFImageClassifier, image: Image.Image) -> VehicleResult:
    result = model.classify([image])[0]
    label, confidence = result.top
    kind = label.strip().lower().replace(" ", "_").replace("-", "_")
    return VehicleResult(
        vehicle_type=kind,
        display_name=kind.replace("_", " "),
        confidence=round(confidence, 4),
        is_commercial=kind in COMMERCIAL_TYPES,
        all_scores={name: round(p, 4) for name, p in zip(result.labels, result.probabilities, strict=True)},
    )
