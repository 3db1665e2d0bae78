"""Demographics: find the face in a person crop, then age and gender on the face."""

from __future__ import annotations

from PIL import Image

from ai.contracts.enrichment import AgeClassificationResult, GenderClassificationResult
from ai.enrichment.demographics_rules import estimate_age, gender_from
from ai.runtime.families.hf_image_classifier import HFImageClassifier
from ai.runtime.families.ultralytics_base import UltralyticsAdapter

FACE_MARGIN = 0.15  # widen the face box a little: classifiers were trained on loose crops
HEAD_FRACTION = 0.35  # without a face detector, the top of a person crop is the head


def find_face(model: UltralyticsAdapter, image: Image.Image, confidence: float) -> Image.Image | None:
    faces = model.predict([image], conf=confidence, max_det=1)[0]
    if not faces:
        return None
    box = faces[0].box
    dx, dy = box.width * FACE_MARGIN, box.height * FACE_MARGIN
    region = (
        max(0, int(box.x1 - dx)),
        max(0, int(box.y1 - dy)),
        min(image.width, round(box.x2 + dx)),
        min(image.height, round(box.y2 + dy)),
    )
    return image.crop(region)


def head_region(image: Image.Image) -> Image.Image:
    return image.crop((0, 0, image.width, max(1, round(image.height * HEAD_FRACTION))))


def classify_age(model: HFImageClassifier, face: Image.Image) -> AgeClassificationResult:
    probabilities = model.probabilities([face])[0].tolist()
    bracket, confidence, age = estimate_age(model.labels, probabilities)
    return AgeClassificationResult(age_range=bracket, confidence=round(confidence, 4), raw_prediction=age)


def classify_gender(model: HFImageClassifier, face: Image.Image, min_confidence: float) -> GenderClassificationResult:
    probabilities = model.probabilities([face])[0].tolist()
    gender, confidence = gender_from(model.labels, probabilities, min_confidence)
    return GenderClassificationResult(gender=gender, confidence=confidence)  # type: ignore[arg-type]
