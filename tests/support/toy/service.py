"""The toy service: a whole model service as a small folder (settings, one declared
endpoint, ``catalog.toml``), built by the runtime like every service of the fleet."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field

from ai.contracts.endpoints import Endpoint
from ai.contracts.images import ImageRequest
from ai.runtime.declarations import Call, ModelEndpoint
from ai.runtime.families.tasks import Task
from ai.runtime.model_service import ModelService
from ai.runtime.settings import RuntimeSettings
from tests.support.toy import family  # noqa: F401  (registers the toy_embed family)


class ToySettings(RuntimeSettings):
    service_name: str = Field("toy", validation_alias="SERVICE_NAME")


class ToyEmbedding(BaseModel):
    embedding: list[float]
    inference_time_ms: float


EMBED = Endpoint("/embed", ImageRequest, ToyEmbedding, "toy_embedder", "The toy embedding of an image.")


def _finish(_call: Call, vector: np.ndarray) -> dict[str, object]:
    return {"embedding": [float(v) for v in vector]}


EMBED_ENDPOINT = ModelEndpoint(EMBED, Task.EMBED, lambda call: call.image.image, _finish)


class ToyService(ModelService):
    name = "toy"
    settings_type = ToySettings
    endpoints = (EMBED_ENDPOINT,)
