"""Violence (binary) and weather (scene) classification."""

from __future__ import annotations

from PIL import Image

from ai.contracts.enrichment import ViolenceResult, WeatherResult
from ai.runtime.families.hf_image_classifier import HFImageClassifier


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


def classify_violence(model: HFImageClassifier, image: Image.Image) -> ViolenceResult:
    probabilities = model.probabilities([image])[0].tolist()
    violent = violent_probability(model.labels, probabilities)
    return ViolenceResult(is_violent=violent >= 0.5, confidence=round(violent, 4))


def classify_weather(model: HFImageClassifier, frame: Image.Image) -> WeatherResult:
    label, confidence = model.classify([frame], top_k=1)[0].top
    return WeatherResult(condition=label.lower(), confidence=round(confidence, 4))
