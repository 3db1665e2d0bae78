"""Violence (binary) and weather (scene) results for ``/enrich``."""

from __future__ import annotations

from ai.contracts.enrichment import ViolenceResult, WeatherResult
from ai.runtime.families.tasks import Classification


def violent_probability(labels: list[str], probabilities: list[float]) -> float:
    """Probability mass of the violent class(es): labels like "violent", "violence",
    "fight", but not "non_violent" / "non-violence"."""
    total = 0.0
    for label, probability in zip(labels, probabilities, strict=True):
        text = label.lower().replace("-", "_").replace(" ", "_")
        if text.startswith(("non", "no_")):
            continue
        if "violen" in text or "fight" in text:
            total += probability
    return total


def violence_result(classification: Classification) -> ViolenceResult:
    violent = violent_probability(classification.labels, classification.probabilities)
    return ViolenceResult(is_violent=violent >= 0.5, confidence=round(violent, 4))


def weather_result(classification: Classification) -> WeatherResult:
    label, confidence = classification.top
    return WeatherResult(condition=label.lower(), confidence=round(confidence, 4))
