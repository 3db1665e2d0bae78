"""The CLIP service's HTTP contract (port 8093), shared by the service and the backend's
client. Embeddings are L2-normalised; their dimension follows the loaded model (768 for
ViT-L/14) and is reported. Torch-free."""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from ai.contracts.endpoints import Endpoint
from ai.contracts.images import ImageRequest
from ai.contracts.safe_input import RequestModel

MODEL = "clip"
SENTENCE_MODEL = "text_embedder"  # all-MiniLM-L6-v2, hosted beside CLIP
MAX_TEXTS = 100
MAX_SENTENCES = 256
MAX_DIMENSION = 4096

Text = Annotated[str, StringConstraints(min_length=1, max_length=1000)]
SentenceText = Annotated[str, StringConstraints(min_length=1, max_length=20000)]  # longer is truncated by the model
Label = Annotated[str, StringConstraints(min_length=1, max_length=200)]


def _distinct(values: list[str], what: str) -> list[str]:
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise ValueError(f"{what} must be distinct; repeated: {', '.join(repeated[:5])}")
    return values


class EmbedTextRequest(RequestModel):
    model_config = ConfigDict(extra="forbid")

    texts: list[Text] = Field(min_length=1, max_length=MAX_TEXTS, description=f"1 to {MAX_TEXTS} texts")


class EmbedSentencesRequest(RequestModel):
    model_config = ConfigDict(extra="forbid")

    texts: list[SentenceText] = Field(
        min_length=1, max_length=MAX_SENTENCES, description=f"1 to {MAX_SENTENCES} texts; long ones are truncated"
    )


class ClassifyRequest(ImageRequest):
    labels: list[Label] = Field(min_length=2, max_length=MAX_TEXTS, description="Candidate labels, distinct")
    prompt_template: Annotated[str, StringConstraints(min_length=2, max_length=200)] | None = Field(
        None, description='One template with "{}" for the label; default CLIP_PROMPT_TEMPLATES (averaged)'
    )

    @field_validator("labels")
    @classmethod
    def _distinct_labels(cls, value: list[str]) -> list[str]:
        return _distinct(value, "labels")

    @field_validator("prompt_template")
    @classmethod
    def _has_slot(cls, value: str | None) -> str | None:
        if value is not None and value.count("{}") != 1:
            raise ValueError('prompt_template needs exactly one "{}" where the label goes')
        return value


class SimilarityRequest(ImageRequest):
    text: Text


class BatchSimilarityRequest(ImageRequest):
    texts: list[Text] = Field(min_length=1, max_length=MAX_TEXTS, description=f"1 to {MAX_TEXTS} texts")


class AnomalyRequest(ImageRequest):
    baseline_embedding: list[float] = Field(
        min_length=1, max_length=MAX_DIMENSION, description="The camera's baseline (e.g. a mean of /embed vectors)"
    )

    @field_validator("baseline_embedding")
    @classmethod
    def _usable(cls, value: list[float]) -> list[float]:
        if not all(math.isfinite(v) for v in value):
            raise ValueError("baseline_embedding holds a value that is not a finite number")
        if not any(value):
            raise ValueError("baseline_embedding is all zeros: it has no direction to compare with")
        return value


class ClipResponse(BaseModel):
    model: str = Field(description="The weights that answered (folder name)")
    inference_time_ms: float = Field(description="Longest forward pass this answer waited for (cached text: none)")


class EmbedResponse(ClipResponse):
    embedding: list[float]
    embedding_dimension: int


class EmbedTextResponse(ClipResponse):
    embeddings: list[list[float]] = Field(description="One per text, in order")
    embedding_dimension: int
    cached: int = Field(description="How many of the texts came from the text-embedding cache")


class EmbedSentencesResponse(ClipResponse):
    embeddings: list[list[float]] = Field(description="One L2-normalised vector per text, in order")
    dimensions: int


class ClassifyResponse(ClipResponse):
    scores: dict[str, float] = Field(description="Probability per label, in the order sent; they sum to 1")
    top_label: str
    top_score: float


class SimilarityResponse(ClipResponse):
    similarity: float = Field(description="Cosine similarity of image and text, -1..1")


class TextSimilarity(BaseModel):
    text: str
    similarity: float


class BatchSimilarityResponse(ClipResponse):
    similarities: list[TextSimilarity] = Field(description="One per text, in the order sent")


class AnomalyResponse(ClipResponse):
    anomaly_score: float = Field(description="1 - cosine similarity to the baseline: 0 same scene, up to 2")
    similarity: float
    is_anomaly: bool = Field(description="anomaly_score above the threshold")
    threshold: float = Field(description="CLIP_ANOMALY_THRESHOLD")
    embedding_dimension: int


EMBED = Endpoint("/embed", ImageRequest, EmbedResponse, MODEL, "An L2-normalised image embedding.")
EMBED_TEXT = Endpoint(
    "/embed-text", EmbedTextRequest, EmbedTextResponse, MODEL, "Text embeddings in the image embeddings' space."
)
EMBED_SENTENCES = Endpoint(
    "/embed-sentences",
    EmbedSentencesRequest,
    EmbedSentencesResponse,
    SENTENCE_MODEL,
    "Sentence embeddings for semantic search (all-MiniLM-L6-v2, 384-d); a text-only space, not CLIP's.",
)
CLASSIFY = Endpoint(
    "/classify", ClassifyRequest, ClassifyResponse, MODEL, "Zero-shot classification over the given labels."
)
SIMILARITY = Endpoint("/similarity", SimilarityRequest, SimilarityResponse, MODEL, "Image-text cosine similarity.")
BATCH_SIMILARITY = Endpoint(
    "/batch-similarity",
    BatchSimilarityRequest,
    BatchSimilarityResponse,
    MODEL,
    f"Similarity of one image to up to {MAX_TEXTS} texts, in order.",
)
ANOMALY = Endpoint(
    "/anomaly-score",
    AnomalyRequest,
    AnomalyResponse,
    MODEL,
    "How far the image is from a baseline embedding, and whether that crosses CLIP_ANOMALY_THRESHOLD.",
)
