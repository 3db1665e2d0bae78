"""What every CLIP endpoint does with the model: one image vector, text vectors through
the cache, and the arithmetic on them (zero-shot probabilities, anomaly score)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ai.contracts.clip import MODEL
from ai.runtime.errors import ErrorCode, ServiceError
from ai.runtime.families.hf_clip import TextEmbedding
from ai.runtime.image_request import DecodedImage

if TYPE_CHECKING:
    from ai.clip.service import ClipService
    from ai.runtime.service import ServiceRuntime


@dataclass(frozen=True)
class Texts:
    vectors: np.ndarray  # one row per text, L2-normalised
    logit_scale: float
    ms: float  # forward passes the cache did not spare
    cached: int


def model_label(runtime: ServiceRuntime) -> str:
    """The weights' folder name (e.g. clip-vit-large-patch14)."""
    path = runtime.manager.records[MODEL].spec.describe().get("path")
    return Path(str(path)).name if path else MODEL


async def image_vector(runtime: ServiceRuntime, image: DecodedImage) -> tuple[np.ndarray, float]:
    inference = await runtime.infer_one(MODEL, image.image)
    return inference.output, inference.ms


async def text_vectors(runtime: ServiceRuntime, texts: list[str]) -> Texts:
    """Embeddings of ``texts`` in order; repeated and cached texts cost no forward pass."""
    service: ClipService = runtime.service
    generation = runtime.manager.records[MODEL].load_count
    found: dict[str, TextEmbedding] = {}
    for text in dict.fromkeys(texts):
        hit = service.text_cache.get((generation, text))
        if hit is not None:
            found[text] = hit
    missing = [text for text in dict.fromkeys(texts) if text not in found]
    ms = 0.0
    if missing:
        results = await runtime.infer(MODEL, missing)
        for text, result in zip(missing, results, strict=True):
            if isinstance(result, ServiceError):
                raise result
            found[text] = result.output
            service.text_cache.put((generation, text), result.output)
        ms = max(result.ms for result in results)  # type: ignore[union-attr]
    first = found[texts[0]]
    return Texts(np.stack([found[t].vector for t in texts]), first.logit_scale, ms, len(texts) - len(missing))


async def image_and_texts(runtime: ServiceRuntime, image: DecodedImage, texts: list[str]) -> tuple[np.ndarray, Texts]:
    """Both at once: the image and text items can share one batch (so the time is the
    longer of the two passes, not their sum)."""
    (vector, image_ms), embedded = await asyncio.gather(image_vector(runtime, image), text_vectors(runtime, texts))
    return vector, Texts(embedded.vectors, embedded.logit_scale, max(embedded.ms, image_ms), embedded.cached)


def label_vectors(embedded: Texts, labels: int, templates: int) -> np.ndarray:
    """Average each label's template embeddings (rows label-major) and renormalise."""
    mean = embedded.vectors.reshape(labels, templates, -1).mean(axis=1)
    return mean / np.linalg.norm(mean, axis=1, keepdims=True)


def zero_shot(image: np.ndarray, labels: np.ndarray, logit_scale: float) -> np.ndarray:
    """Softmax over the labels of CLIP's scaled cosine similarities."""
    logits = logit_scale * (labels @ image)
    logits -= logits.max()
    weights = np.exp(logits)
    return weights / weights.sum()


def anomaly(image: np.ndarray, baseline: list[float]) -> tuple[float, float]:
    """(similarity, anomaly score = 1 - similarity) to the normalised baseline."""
    if len(baseline) != image.shape[0]:
        raise ServiceError(
            ErrorCode.INVALID_REQUEST,
            f"baseline_embedding has {len(baseline)} dimensions but the model's embeddings have {image.shape[0]}",
            status=422,
            details={"baseline_dimension": len(baseline), "model_dimension": int(image.shape[0])},
        )
    reference = np.asarray(baseline, dtype=np.float32)
    similarity = float(np.clip(image @ (reference / np.linalg.norm(reference)), -1.0, 1.0))
    return similarity, 1.0 - similarity
