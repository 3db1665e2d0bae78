"""``POST /threat-detect``: weapons in the image, typed and graded."""

from __future__ import annotations

from PIL import Image

from ai.contracts.enrichment import ThreatDetectionResult, ThreatItem
from ai.contracts.enrichment_endpoints import THREAT
from ai.contracts.images import XYWH
from ai.enrichment.settings import EnrichmentSettings
from ai.enrichment.threat_rules import most_severe, severity_of, threat_type_of
from ai.runtime.declarations import Call, ModelEndpoint
from ai.runtime.families.tasks import DetectInput, Detection, Task

MAX_THREATS = 20


def threat_input(image: Image.Image, settings: EnrichmentSettings) -> DetectInput:
    return DetectInput(image, settings.threat_confidence, MAX_THREATS)


def threat_items(detections: list[Detection], offset: tuple[float, float]) -> list[ThreatItem]:
    """Every detection of the threat model, in the submitted image's coordinates."""
    dx, dy = offset
    items = []
    for detection in detections:
        box = detection.box
        kind = threat_type_of(detection.label)
        items.append(
            ThreatItem(
                class_name=detection.label,
                confidence=round(detection.confidence, 4),
                bbox=XYWH(
                    x=round(box.x1 + dx, 1),
                    y=round(box.y1 + dy, 1),
                    width=round(box.width, 1),
                    height=round(box.height, 1),
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


def _prepare(call: Call) -> DetectInput:
    return threat_input(call.image.image, call.settings)


def _finish(call: Call, detections: list[Detection]) -> dict[str, object]:
    items = threat_items(detections, call.offset)
    return {
        "threats_detected": items,
        "is_threat": bool(items),
        "max_confidence": max((item.confidence for item in items), default=0.0),
    }


THREAT_ENDPOINT = ModelEndpoint(THREAT, Task.DETECT, _prepare, _finish)
