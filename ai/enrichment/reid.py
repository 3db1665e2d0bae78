"""Person re-identification: one L2-normalised embedding per person crop."""

from __future__ import annotations

from PIL import Image

from ai.runtime.families.torchreid_osnet import TorchreidAdapter


def embed_person(model: TorchreidAdapter, image: Image.Image) -> list[float]:
    return [round(float(v), 6) for v in model.embed([image])[0]]
