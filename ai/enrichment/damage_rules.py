"""Vehicle damage as the specification reads it: glass shattered and a lamp broken
together is a break-in pattern; any damage at night (22:00-06:00) is elevated; two or
more kinds of damage are a likely incident; high-security damage (glass_shatter,
lamp_broken) at night is critical. Pure rules on hand-made detections."""

from __future__ import annotations

from ai.contracts.enrichment_detail import DamageItem, DamageResult, DamageRisk

HIGH_SECURITY = frozenset({"glass_shatter", "lamp_broken"})


def damage_result(items: list[DamageItem], is_night: bool) -> DamageResult:
    kinds = sorted({item.damage_type for item in items})
    high_security = bool(HIGH_SECURITY & set(kinds))
    patterns = []
    if set(kinds) >= HIGH_SECURITY:
        patterns.append("break-in pattern")
    if is_night and kinds:
        patterns.append("damage at night")
    if len(kinds) >= 2:
        patterns.append("likely incident")
    risk: DamageRisk
    if not kinds:
        risk = "none"
    elif high_security and is_night:
        risk = "critical"
    elif "break-in pattern" in patterns or len(kinds) >= 2:
        risk = "high"
    elif is_night:
        risk = "elevated"
    else:
        risk = "low"
    return DamageResult(
        damages=sorted(items, key=lambda i: -i.confidence),
        damage_types=kinds,
        has_high_security_damage=high_security,
        patterns=patterns,
        risk=risk,
    )
