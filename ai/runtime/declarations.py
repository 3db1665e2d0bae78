"""Declared model calls. An endpoint is declared once: its contract (path, model,
schemas), the task it needs from the model's family, ``prepare`` (request side: the
decoded, cropped image to the family's input) and ``finish`` (pure: the family's
output to the contract's fields). The runtime reads the body, decodes and crops
on a worker thread, batches, times and builds the route with its OpenAPI; it checks the declarations against the
catalog at start-up. An endpoint over several models is a :class:`CompositeEndpoint`
whose handler runs them through the same batchers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from ai.contracts.endpoints import Endpoint
from ai.runtime.families.tasks import Task
from ai.runtime.image_request import DecodedImage

if TYPE_CHECKING:
    from ai.runtime.service import ServiceRuntime


@dataclass(frozen=True)
class Call:
    """One request as declared functions see it: the validated body, the decoded image
    (cropped to ``bbox`` when the endpoint crops) and the service's settings."""

    body: Any
    image: DecodedImage
    settings: Any

    @property
    def offset(self) -> tuple[float, float]:
        """Where the analysed crop sits in the submitted image (to answer in its pixels)."""
        crop = self.image.crop
        return (crop.x1, crop.y1) if crop is not None else (0.0, 0.0)


Fields = Mapping[str, Any] | BaseModel


@dataclass(frozen=True)
class ModelEndpoint:
    """An endpoint that runs ``contract.model`` once on the request's image.

    ``prepare`` runs on the event loop and must be cheap (building the family's input);
    per-image work such as resizing belongs in the family's ``run_batch``, where it is
    batched. ``finish`` returns the response's fields except ``inference_time_ms``, which
    the runtime adds; it runs on the event loop unless ``finish_on_thread`` (for work of
    milliseconds, such as encoding a PNG), and an exception in it is the model's
    ``INFERENCE_FAILED``.
    """

    contract: Endpoint
    task: Task
    prepare: Callable[[Call], Any]
    finish: Callable[[Call, Any], Fields]
    crop: bool = True
    finish_on_thread: bool = False
    # The shorter side the model needs of the analysed region; a larger JPEG is decoded at
    # a 1/2-1/8 reduction (only for outputs without pixel coordinates).
    min_side: int | None = None

    @property
    def uses(self) -> dict[str, Task]:
        assert self.contract.model is not None, f"{self.contract.path}: a model endpoint names its model"
        return {self.contract.model: self.task}


@dataclass(frozen=True)
class CompositeEndpoint:
    """An endpoint over several models; ``handle`` runs them through ``runtime.infer``."""

    contract: Endpoint
    uses: Mapping[str, Task]
    handle: Callable[[Call, ServiceRuntime], Awaitable[BaseModel]]
    crop: bool = False
    min_side: int | None = None


Declaration = ModelEndpoint | CompositeEndpoint
