"""Threat detection: weapons in the image, typed and graded."""

from __future__ import annotations

from PIL import Image

from ai.contracts.enrichment import ThreatDetectionResult, ThreatItem
from ai.contracts.images import XYWH, Box
from ai.enrichment.threats import most_severe, severity_of, threat_type_of
from ai.runtime.families.ultralytics_base import UltralyticsAdapter

MAX_THREATS = 20


def detect_threats(
    model: UltralyticsAdapter, image: Image.Image, offset: tuple[float, float], confidence: float
) -> list[ThreatItem]:
    """Every detection of the threat model, in the submitted image's coordinates."""
    dx, dy = offset
    items = []
    for detection in model.predict([image], conf=confidence, max_det=MAX_THREATS)[0]:
        box = Box(detection.box.x1 + dx, detection.box.y1 + dy, detection.box.x2 + dx, detection.box.y2 + dy)
        kind = threat_type_of(detection.label)
        items.append(
            ThreatItem(
                class_name=detection.label,
                confidence=round(detection.confidence, 4),
                bbox=XYWH(
                    x=round(box.x1, 1), y=round(box.y1, 1), width=round(box.width, 1), height=round(box.height, 1)
                ),
                threat_type=kind,
                severity=severity_of(kind, detection.confidence),
            )
        )
    return items


def summarize_threats(items: list[ThreatItem]) -> ThreatDetectionResult:
    """The most severe threat, or ``none``."""
    worst = most_severe([(item.threat_type, item.confidence) for item in items])
    if worst is None:
        return ThreatDetectionResult(threat_type="none", confidence=0.0, severity="low", bbox=None)
    kind, confidence, severity = worst
    item = next(i for i in items if i.threat_type == kind and i.confidence == confidence)
    b = item.bbox
    return ThreatDetectionResult(
        threat_type=kind, confidence=confidence, severity=severity, bbox=[b.x, b.y, b.x + b.width, b.y + b.height]
    )
