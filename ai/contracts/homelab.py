"""The homelab AI API (``/api/caption``, ``/api/embed``, ``/api/crawl`` on the backend):
general-purpose calls for the rest of the homelab, routed to the fleet. Every answer
carries the request's ``request_id`` (also in the ``X-Request-ID`` header), the model
that answered and the time it took. Torch-free."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from ai.contracts.clip import MAX_SENTENCES, SentenceText
from ai.contracts.safe_input import RequestModel

MAX_CAPTION_BATCH = 16
Base64Image = Annotated[str, StringConstraints(min_length=1)]
ModelId = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class HomelabResponse(BaseModel):
    request_id: str = Field(description="This request's id (the X-Request-ID header)")
    model_used: str
    processing_time_ms: float = Field(description="Time in the backend, service calls included")


class CaptionRequest(RequestModel):
    """One image in ``image`` (base64), or several in ``batch``; multipart sends ``file``
    parts (one per image) with ``model`` and ``detail`` as fields."""

    model_config = ConfigDict(extra="forbid")

    image: Base64Image | None = Field(None, description="Base64 image (a data: URL prefix is accepted)")
    batch: list[Base64Image] | None = Field(
        None, min_length=1, max_length=MAX_CAPTION_BATCH, description=f"1 to {MAX_CAPTION_BATCH} base64 images"
    )
    model: ModelId | None = Field(None, description="florence (the default), by name or display name")
    detail: Literal["brief", "detailed", "more_detailed"] = "brief"

    @model_validator(mode="after")
    def _one_source(self) -> CaptionRequest:
        if (self.image is None) == (self.batch is None):
            raise ValueError("send exactly one of `image` (one base64 image) or `batch` (a list of them)")
        return self


class CaptionResponse(HomelabResponse):
    caption: str


class CaptionBatchResponse(HomelabResponse):
    captions: list[str] = Field(description="One per image, in the order sent")


class EmbedRequest(RequestModel):
    model_config = ConfigDict(extra="forbid")

    texts: list[SentenceText] = Field(min_length=1, max_length=MAX_SENTENCES, description=f"1 to {MAX_SENTENCES} texts")
    model: ModelId | None = Field(None, description="text_embedder / all-MiniLM-L6-v2 (the default)")


class EmbedResponse(HomelabResponse):
    embeddings: list[list[float]] = Field(description="L2-normalised, one per text, in order")
    dimensions: int


class CrawlRequest(RequestModel):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, StringConstraints(min_length=1, max_length=4096)] = Field(description="http or https only")
    screenshot: bool = False
    wait_for_js: bool = Field(True, description="Wait for the network to go idle, so scripts have run")


class CrawlResponse(BaseModel):
    request_id: str
    url: str = Field(description="Where the browser ended up (after redirects)")
    status_code: int | None = Field(None, description="HTTP status of the page itself")
    title: str
    text: str = Field(description="The page's visible text, whitespace collapsed")
    screenshot_base64: str | None = Field(None, description="PNG of the viewport, when asked for")
    fetch_time_ms: float
