"""``POST /person-reid``: one L2-normalised appearance embedding per person crop."""

from __future__ import annotations

import numpy as np

from ai.contracts.enrichment_catalog import enrichment_entries
from ai.contracts.enrichment_endpoints import REID
from ai.runtime.declarations import Call, ModelEndpoint
from ai.runtime.families.tasks import Task


def embedding_list(vector: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in vector]


def _finish(call: Call, vector: np.ndarray) -> dict[str, object]:
    embedding = embedding_list(vector)
    return {
        "embedding": embedding,
        "embedding_dim": len(embedding),
        "model": enrichment_entries()["person_reid"].source_ref,
    }


# OSNet sees 256x128: a larger JPEG crop is decoded at a reduction that keeps 256 px.
REID_ENDPOINT = ModelEndpoint(REID, Task.EMBED, lambda call: call.image.image, _finish, min_side=256)
