"""``POST /pet-classify``: cat or dog, breed, and whether it is a household pet at all."""

from __future__ import annotations

from ai.contracts.enrichment import PetResult
from ai.contracts.enrichment_endpoints import PET
from ai.enrichment.pet_rules import pet_from_probabilities
from ai.runtime.declarations import ModelEndpoint
from ai.runtime.families.tasks import Classification, Task


def pet_result(classification: Classification) -> PetResult:
    verdict = pet_from_probabilities(classification.labels, classification.probabilities)
    return PetResult(
        pet_type=verdict.pet_type,  # type: ignore[arg-type]
        breed=verdict.breed,
        confidence=round(verdict.confidence, 4),
        is_household_pet=verdict.is_household_pet,
        label=verdict.label,
    )


PET_ENDPOINT = ModelEndpoint(
    PET, Task.CLASSIFY, lambda call: call.image.image, lambda _call, out: pet_result(out), min_side=224
)
