"""Pet classification: cat or dog, breed, and whether it is a household pet at all."""

from __future__ import annotations

from PIL import Image

from ai.contracts.enrichment import PetResult
from ai.enrichment.pets import pet_from_probabilities
from ai.runtime.families.hf_image_classifier import HFImageClassifier


def classify_pet(model: HFImageClassifier, image: Image.Image) -> PetResult:
    probabilities = model.probabilities([image])[0].tolist()
    verdict = pet_from_probabilities(model.labels, probabilities)
    return PetResult(
        pet_type=verdict.pet_type,  # type: ignore[arg-type]
        breed=verdict.breed,
        confidence=round(verdict.confidence, 4),
        is_household_pet=verdict.is_household_pet,
        label=verdict.label,
    )
