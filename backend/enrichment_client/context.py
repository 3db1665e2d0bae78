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
    if result.clothing is not None:
        c = result.clothing
        worn = f"{c.color} {c.clothing_type} ({_pct(c.confidence)}), {c.style}"
        if c.is_service_uniform:
            worn += ", service uniform"
        lines.append(f"- Clothing: {worn}")
        if c.is_suspicious:
            lines.append(f"  **SUSPICIOUS ATTIRE**: {', '.join(c.suspicious_reasons)}")
    if result.clothing_segments is not None and (
        result.clothing_segments.upper_color or result.clothing_segments.lower_color
    ):
        s = result.clothing_segments
        lines.append(f"- Clothing colours: upper {s.upper_color or 'unknown'}, lower {s.lower_color or 'unknown'}")
    if result.action is not None:
        a = result.action
        flag = " **SUSPICIOUS ACTION**" if a.is_suspicious else ""
        lines.append(f"- Action over {a.frames_used} frames: {a.action} ({_pct(a.confidence)}){flag}")
    if result.vehicle_damage is not None and result.vehicle_damage.damage_types:
        d = result.vehicle_damage
        patterns = f"; {', '.join(d.patterns)}" if d.patterns else ""
        lines.append(f"- Vehicle damage: {', '.join(d.damage_types).replace('_', ' ')} (risk {d.risk}){patterns}")
    if result.plates is not None and result.plates.plates:
        read = ", ".join(f"{p.text} ({_pct(p.confidence)})" for p in result.plates.plates)
        lines.append(f"- Licence plate: {read}")
    if result.open_vocab is not None and result.open_vocab.detections:
        seen = ", ".join(f"{d.label} ({_pct(d.confidence)})" for d in result.open_vocab.detections[:8])
        lines.append(f"- Also seen: {seen}")
    if result.person_embeddings:
        lines.append("- Re-identification embedding available for cross-camera matching")
    if result.errors:
        failed = ", ".join(f"{model} ({error.code})" for model, error in sorted(result.errors.items()))
        lines.append(f"- Not available: {failed}")
    if len(lines) == 1:
        lines.append("- No enrichment ran for this detection")
    return "\n".join(lines)
