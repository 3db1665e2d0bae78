"""The Florence-2 service as the backend calls it: one method per endpoint, each
returning the contract's parsed answer (boxes in pixels of the image sent), through the
shared transport (key, concurrency limit, retries, breaker, ``/ready`` probe)."""

from __future__ import annotations

from typing import Literal

import httpx

from ai.contracts.florence import (
    CAPTION,
    DENSE_CAPTION,
    DETECT,
    EXTRACT,
    OCR,
    OCR_REGIONS,
    CaptionResponse,
    ExtractResponse,
    ObjectsResponse,
    OcrRegionsResponse,
    OcrResponse,
)
from backend.metrics import BackendMetrics
from backend.service_clients import TypedClient, encoded
from backend.settings import BackendSettings

Detail = Literal["brief", "detailed", "more_detailed"]


class FlorenceClient(TypedClient):
    def __init__(
        self, settings: BackendSettings, metrics: BackendMetrics, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        super().__init__("florence", settings.florence_url, settings.florence_api_key, settings, metrics, transport)

    async def extract(self, image: bytes | str, prompt: str, text_input: str | None = None) -> ExtractResponse:
        """Any task prompt (``TASK_PROMPTS``); the grounding prompts take ``text_input``.
        An unknown prompt or a misplaced phrase is the service's 422, not checked here."""
        payload = {"image": encoded(image), "prompt": prompt, "text_input": text_input}
        return ExtractResponse.model_validate(await self._post(EXTRACT.path, payload))

    async def caption(self, image: bytes | str, detail: Detail = "brief") -> CaptionResponse:
        answer = await self._post(CAPTION.path, {"image": encoded(image), "detail": detail})
        return CaptionResponse.model_validate(answer)

    async def ocr(self, image: bytes | str) -> OcrResponse:
        return OcrResponse.model_validate(await self._post(OCR.path, {"image": encoded(image)}))

    async def ocr_with_regions(self, image: bytes | str) -> OcrRegionsResponse:
        return OcrRegionsResponse.model_validate(await self._post(OCR_REGIONS.path, {"image": encoded(image)}))

    async def detect(self, image: bytes | str) -> ObjectsResponse:
        return ObjectsResponse.model_validate(await self._post(DETECT.path, {"image": encoded(image)}))

    async def dense_caption(self, image: bytes | str) -> ObjectsResponse:
        return ObjectsResponse.model_validate(await self._post(DENSE_CAPTION.path, {"image": encoded(image)}))
