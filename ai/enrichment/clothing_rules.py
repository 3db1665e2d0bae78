"""What a clothing classification means for security: the style of the garment, and
whether the person is dressed to hide (a face covering, all dark at night) or to look
like a worker (a high-visibility vest at night). Pure rules on hand-made scores."""

from __future__ import annotations

from ai.contracts.enrichment_detail import ClothingResult, LabelScore
from ai.runtime.families.tasks import Classification

FACE_COVERINGS = frozenset({"balaclava", "ski mask", "face mask"})
SERVICE_UNIFORMS = frozenset({"delivery uniform", "high-visibility vest"})
DARK = frozenset({"black", "gray"})
STYLES = {
    "concealing": FACE_COVERINGS | {"hoodie"},
    "work": SERVICE_UNIFORMS,
    "formal": frozenset({"suit", "shirt", "dress", "coat"}),
    "athletic": frozenset({"shorts", "cap", "backpack"}),
}
# A covering or vest counts when the model gives it at least this probability, even if
# another label tops it (a hood over a balaclava is still a covered face).
FLAG_SCORE = 0.25


def style_of(label: str) -> str:
    return next((style for style, labels in STYLES.items() if label in labels), "casual")


def clothing_result(classification: Classification, colors: list[str], is_night: bool) -> ClothingResult:
    ranked = classification.ranked()
    label, confidence = ranked[0]
    likely = {name for name, p in ranked if p >= FLAG_SCORE} | {label}
    reasons = []
    if likely & FACE_COVERINGS:
        reasons.append("face covering")
    if is_night and colors and set(colors) <= DARK:
        reasons.append("all dark clothing at night")
    if is_night and "high-visibility vest" in likely:
        reasons.append("high-visibility vest at night")
    return ClothingResult(
        clothing_type=label,
        color=colors[0] if colors else "unknown",
        colors=colors,
        style=style_of(label),
        confidence=round(confidence, 4),
        top_labels=[LabelScore(label=name, score=round(p, 4)) for name, p in ranked[:3]],
        is_suspicious=bool(reasons),
        suspicious_reasons=reasons,
        is_service_uniform=bool(likely & SERVICE_UNIFORMS),
    )
