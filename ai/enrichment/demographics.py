"""Demographics for ``/enrich``: find the face in a person crop, then age and gender on it."""

from __future__ import annotations

from PIL import Image

from ai.contracts.enrichment import AgeClassificationResult, GenderClassificationResult
from ai.enrichment.demographics_rules import estimate_age, gender_from
from ai.runtime.families.tasks import Classification, DetectInput, Detection

FACE_MARGIN = 0.15  # widen the face box a little: classifiers were trained on loose crops
HEAD_FRACTION = 0.35  # without a face detector, the top of a person crop is the head


def face_input(person: Image.Image, confidence: float) -> DetectInput:
    return DetectInput(person, confidence, 1)


def face_crop(person: Image.Image, faces: list[Detection]) -> Image.Image | None:
    """The most confident face, widened by a margin; None when there is none."""
    if not faces:
        return None
    box = faces[0].box
    dx, dy = box.width * FACE_MARGIN, box.height * FACE_MARGIN
    region = (
        max(0, int(box.x1 - dx)),
        max(0, int(box.y1 - dy)),
        min(person.width, round(box.x2 + dx)),
        min(person.height, round(box.y2 + dy)),
    )
    return person.crop(region)


def head_region(person: Image.Image) -> Image.Image:
    return person.crop((0, 0, person.width, max(1, round(person.height * HEAD_FRACTION))))


def age_result(classification: Classification) -> AgeClassificationResult:
    bracket, confidence, age = estimate_age(classification.labels, classification.probabilities)
    return AgeClassificationResult(age_range=bracket, confidence=round(confidence, 4), raw_prediction=age)


def gender_result(classification: Classification, min_confidence: float) -> GenderClassificationResult:
    gender, confidence = gender_from(classification.labels, classification.probabilities, min_confidence)
    return GenderClassificationResult(gender=gender, confidence=confidence)  # type: ignore[arg-type]
