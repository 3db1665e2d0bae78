"""``POST /vehicle-damage``: damage regions of a vehicle and what they add up to."""

from __future__ import annotations

from ai.contracts.enrichment_detail import DamageItem, DamageResult
from ai.contracts.enrichment_endpoints import DAMAGE
from ai.enrichment.damage_rules import damage_result
from ai.runtime.declarations import Call, ModelEndpoint
from ai.runtime.families.tasks import DetectInput, Detection, Task

MAX_DAMAGES = 50


def damage_items(detections: list[Detection], offset: tuple[float, float]) -> list[DamageItem]:
    dx, dy = offset
    return [
        DamageItem(
            damage_type=d.label.strip().lower().replace(" ", "_").replace("-", "_"),
            confidence=round(d.confidence, 4),
            bbox=[round(d.box.x1 + dx, 1), round(d.box.y1 + dy, 1), round(d.box.x2 + dx, 1), round(d.box.y2 + dy, 1)],
            mask_area=round(d.mask_area or 0.0, 1),
        )
        for d in detections
    ]


def damage_from(detections: list[Detection], offset: tuple[float, float], is_night: bool) -> DamageResult:
    return damage_result(damage_items(detections, offset), is_night)


def _prepare(call: Call) -> DetectInput:
    return DetectInput(call.image.image, call.settings.damage_confidence, MAX_DAMAGES)


DAMAGE_ENDPOINT = ModelEndpoint(
    DAMAGE, Task.DETECT, _prepare, lambda call, out: damage_from(out, call.offset, bool(call.body.is_night))
)
