"""The enrichment of a detection as a short, deterministic text block for the LLM's
risk prompt: same result, same text, byte for byte."""

from __future__ import annotations

from ai.contracts.enrichment_result import EnrichmentResult


def _pct(value: float) -> str:
    return f"{round(value * 100)}%"


def render_context(result: EnrichmentResult) -> str:
    lines = [f"Enrichment of {result.detection_type} {result.detection_id} ({result.status}):"]
    threat = result.threat_detection
    if threat is not None:
        if threat.threat_type == "none":
            lines.append("- Weapons: none detected")
        else:
            lines.append(f"- Weapon: {threat.threat_type} ({_pct(threat.confidence)}), severity {threat.severity}")
            if threat.severity in ("high", "critical"):
                lines.append("  **THREAT ALERT**: treat as an armed person")
    if result.pose is not None:
        alerts = ", ".join(result.pose.alerts) if result.pose.alerts else "none"
        lines.append(f"- Posture: {result.pose.posture.replace('_', ' ')}; alerts: {alerts.replace('_', ' ')}")
    age = result.age_classifications.get(result.detection_id)
    gender = result.gender_classifications.get(result.detection_id)
    if age is not None or gender is not None:
        parts = []
        if age is not None:
            parts.append(f"age {age.age_range}")
        if gender is not None:
            parts.append(f"gender {gender.gender} ({_pct(gender.confidence)})")
        lines.append(f"- Demographics: {', '.join(parts)}")
    if result.vehicle is not None:
        v = result.vehicle
        kind = "commercial" if v.is_commercial else "private"
        lines.append(f"- Vehicle: {v.display_name} ({_pct(v.confidence)}), {kind}")
    if result.pet is not None:
        p = result.pet
        pet = f"{p.pet_type}" + (f", {p.breed}" if p.breed != "unknown" else "")
        verdict = "household pet" if p.is_household_pet else "probably not a household pet"
        lines.append(f"- Animal: {pet} ({_pct(p.confidence)}), {verdict}")
    if result.depth is not None:
        d = result.depth
        proximity = d.proximity_label.replace("_", " ")
        lines.append(f"- Distance: ~{d.estimated_distance_m:.1f} m from the camera ({proximity})")
    if result.violence is not None:
        violent = "violence likely" if result.violence.is_violent else "no violence"
        lines.append(f"- Violence: {violent} ({_pct(result.violence.confidence)})")
    if result.weather is not None:
        lines.append(f"- Weather: {result.weather.condition} ({_pct(result.weather.confidence)})")
    if result.person_embeddings:
        lines.append("- Re-identification embedding available for cross-camera matching")
    if result.errors:
        failed = ", ".join(f"{model} ({error.code})" for model, error in sorted(result.errors.items()))
        lines.append(f"- Not available: {failed}")
    if len(lines) == 1:
        lines.append("- No enrichment ran for this detection")
    return "\n".join(lines)
