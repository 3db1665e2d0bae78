"""Which enrichment models a detection triggers: one rule for the services and the backend."""

from __future__ import annotations

from collections.abc import Mapping

from ai.contracts.enrichment_catalog import EnrichmentEntry

CATEGORY_OF_LABEL = {
    "person": "person",
    **dict.fromkeys(("car", "truck", "bus", "motorcycle", "bicycle", "van"), "vehicle"),
    **dict.fromkeys(("cat", "dog", "bird", "horse", "sheep", "cow", "bear"), "animal"),
}

# Each enrichment of /enrich and the models it reports under (a helper model such as
# the face detector serves demographics but is not an enrichment of its own). The
# enrichment service implements exactly these; a name missing from the catalog
# stops it at start-up.
ENRICHMENTS: dict[str, tuple[str, ...]] = {
    "threat": ("threat_detector",),
    "pose": ("pose_estimator", "vitpose"),  # ViTPose+ answers instead where asked (use_vitpose)
    "reid_embedding": ("person_reid",),
    "pet": ("pet_classifier",),
    "depth": ("depth_estimator",),
    "vehicle": ("vehicle_classifier",),
    "demographics": ("age_classifier", "gender_classifier"),
    "violence": ("violence_detector",),
    "weather": ("weather_classifier",),
    "clothing": ("clothing_classifier",),
    "clothing_segments": ("clothing_segmenter",),
    "action": ("action_recognizer",),
    "vehicle_damage": ("vehicle_damage",),
    "plates": ("plate_ocr",),  # with the plate detector as its helper where it is hosted alike
    "open_vocab": ("open_vocab_detector",),
}


def trigger_labels(detection_type: str) -> set[str]:
    """``"car"`` -> ``{"car", "vehicle"}``: a label and its category both trigger."""
    label = detection_type.strip().lower()
    return {label, CATEGORY_OF_LABEL.get(label, label)}


def wanted(entry: EnrichmentEntry, labels: set[str], options: Mapping[str, object]) -> bool:
    """Triggered by the labels and not switched off; optional models only when asked."""
    switch = options.get(entry.option)
    if switch is False:
        return False
    if "*" not in entry.triggers and not labels & set(entry.triggers):
        return False
    return bool(switch) or entry.default_on


def planned_models(
    entries: Mapping[str, EnrichmentEntry], detection_type: str, options: Mapping[str, object]
) -> list[str]:
    """The enrichment models (of ``entries``) that one detection should run, in table order."""
    labels = trigger_labels(detection_type)
    return [
        name
        for models in ENRICHMENTS.values()
        for name in models
        if name in entries and wanted(entries[name], labels, options)
    ]
