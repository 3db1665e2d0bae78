"""Age bracket and gender from classifier probabilities: pure functions.

Age classifiers label bins such as ``"20-29"`` or ``"more than 70"``; the estimate is
the probability-weighted mean of the bin midpoints, reported in the fleet's brackets.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

AGE_BRACKETS: tuple[tuple[float, str], ...] = (
    (13, "0-12"), (18, "13-17"), (25, "18-24"), (36, "25-35"), (51, "36-50"), (66, "51-65"),
)  # fmt: skip
OLDEST_BRACKET = "65+"
OPEN_BIN_WIDTH = 10.0  # "more than 70" / "70+" is read as 70-80
MALE_WORDS = ("male", "man", "men", "boy")
FEMALE_WORDS = ("female", "woman", "women", "girl")


def bin_midpoint(label: str) -> float | None:
    """``"20-29"`` -> 24.5, ``"more than 70"`` / ``"70+"`` -> 75, unparseable -> None."""
    numbers = [float(n) for n in re.findall(r"\d+(?:\.\d+)?", label)]
    if len(numbers) >= 2:
        return (numbers[0] + numbers[1]) / 2
    if len(numbers) == 1 and ("more" in label.lower() or "+" in label or "over" in label.lower()):
        return numbers[0] + OPEN_BIN_WIDTH / 2
    return numbers[0] if numbers else None


def age_bracket(age: float) -> str:
    for upper, bracket in AGE_BRACKETS:
        if age < upper:
            return bracket
    return OLDEST_BRACKET


def estimate_age(labels: Sequence[str], probabilities: Sequence[float]) -> tuple[str, float, float | None]:
    """(bracket, confidence of the best bin, estimated age) from bin probabilities."""
    best = max(range(len(labels)), key=lambda i: probabilities[i])
    midpoints = [bin_midpoint(label) for label in labels]
    if any(m is None for m in midpoints):
        return labels[best], float(probabilities[best]), None
    total = sum(probabilities) or 1.0
    age = sum(p * m for p, m in zip(probabilities, midpoints, strict=True) if m is not None) / total
    return age_bracket(age), float(probabilities[best]), round(age, 1)


def gender_from(labels: Sequence[str], probabilities: Sequence[float], min_confidence: float) -> tuple[str, float]:
    """(male | female | unknown, probability of the verdict)."""
    scores = {"male": 0.0, "female": 0.0}
    for label, probability in zip(labels, probabilities, strict=True):
        text = label.lower()
        if any(word == text or text.startswith(word) for word in FEMALE_WORDS):
            scores["female"] += probability
        elif any(word == text or text.startswith(word) for word in MALE_WORDS):
            scores["male"] += probability
    gender = max(scores, key=lambda k: scores[k])
    confidence = scores[gender]
    return (gender if confidence >= min_confidence else "unknown"), round(confidence, 4)
