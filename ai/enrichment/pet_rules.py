"""Cat or dog, and breed, from an image classifier's probabilities: pure functions.

An ImageNet-1k classifier (microsoft/resnet-18) spreads a dog over 118 breed classes
(indices 151-268) and a cat over five domestic cat classes (281-285); the pet type
is the group with more probability mass and the breed is the group's best class.
Other classifiers are read by their label names ("cat", "dog", "kitten", ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

IMAGENET_DOGS = range(151, 269)
IMAGENET_CATS = range(281, 286)
CAT_WORDS = ("cat", "kitten", "kitty")
DOG_WORDS = ("dog", "puppy", "hound", "terrier", "retriever", "spaniel", "shepherd")
GENERIC_LABELS = {"cat", "dog", "cats", "dogs", "kitten", "puppy", "pet"}


@dataclass(frozen=True)
class PetVerdict:
    pet_type: str
    breed: str
    confidence: float
    is_household_pet: bool
    label: str


def _groups(labels: Sequence[str]) -> tuple[list[int], list[int]]:
    if len(labels) == 1000:
        return list(IMAGENET_CATS), list(IMAGENET_DOGS)
    lowered = [label.lower() for label in labels]
    cats = [i for i, text in enumerate(lowered) if any(w in text for w in CAT_WORDS)]
    dogs = [i for i, text in enumerate(lowered) if i not in cats and any(w in text for w in DOG_WORDS)]
    return cats, dogs


def breed_name(label: str) -> str:
    """``"tabby, tabby cat"`` -> ``"tabby"``; generic labels have no breed."""
    first = label.split(",")[0].strip().replace("_", " ")
    return "unknown" if first.lower() in GENERIC_LABELS else first


def pet_from_probabilities(
    labels: Sequence[str], probabilities: Sequence[float], household_threshold: float = 0.5
) -> PetVerdict:
    cats, dogs = _groups(labels)
    p_cat = sum(probabilities[i] for i in cats)
    p_dog = sum(probabilities[i] for i in dogs)
    group, p_type, pet_type = (cats, p_cat, "cat") if p_cat > p_dog else (dogs, p_dog, "dog")
    best = max(group, key=lambda i: probabilities[i]) if group else None
    top = max(range(len(labels)), key=lambda i: probabilities[i])
    return PetVerdict(
        pet_type=pet_type,
        breed=breed_name(labels[best]) if best is not None else "unknown",
        confidence=float(p_type),
        is_household_pet=(p_cat + p_dog) >= household_threshold,
        label=labels[top],
    )
