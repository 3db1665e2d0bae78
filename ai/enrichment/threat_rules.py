"""Threat type and severity from a weapon detector's labels: pure functions."""

from __future__ import annotations

from ai.contracts.enrichment import Severity, ThreatType

GUN_WORDS = ("gun", "pistol", "rifle", "firearm", "shotgun", "revolver", "handgun", "weapon_gun")
KNIFE_WORDS = ("knife", "blade", "machete", "sword", "dagger", "scissor")

SEVERITY_RANK: dict[Severity, int] = {"low": 0, "medium": 1, "high": 2, "critical": 3}


def threat_type_of(label: str) -> ThreatType:
    """Map a detector class name to knife, gun or (any other class) weapon."""
    text = label.lower().replace("-", "_")
    if any(word in text for word in GUN_WORDS):
        return "gun"
    if any(word in text for word in KNIFE_WORDS):
        return "knife"
    return "weapon"


def severity_of(threat_type: ThreatType, confidence: float) -> Severity:
    """Guns are critical when confident, knives high, other weapons medium."""
    if threat_type == "gun":
        return "critical" if confidence >= 0.6 else "high"
    if threat_type == "knife":
        return "high" if confidence >= 0.6 else "medium"
    if threat_type == "weapon":
        return "medium" if confidence >= 0.6 else "low"
    return "low"


def most_severe(items: list[tuple[ThreatType, float]]) -> tuple[ThreatType, float, Severity] | None:
    """The (type, confidence, severity) that matters most: severity, then confidence."""
    if not items:
        return None
    ranked = [(t, c, severity_of(t, c)) for t, c in items]
    return max(ranked, key=lambda item: (SEVERITY_RANK[item[2]], item[1]))
