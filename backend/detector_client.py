"""The detector as the backend calls it: ``/detect`` and ``/detect/batch`` with typed
answers (the contract the service itself is built from), through the same transport as
the enrichment calls: key, concurrency limit, retries, circuit breaker, ``/ready`` probe.
The retry and breaker settings are the ``ENRICHMENT_*`` ones."""

from __future__ import annotations

import httpx

from ai.contracts.detector import DETECT, DETECT_BATCH, BatchDetectResponse, DetectResponse
from backend.metrics import BackendMetrics
from backend.service_clients import TypedClient, encoded
from backend.settings import BackendSettings


class DetectorClient(TypedClient):
    def __init__(
        self, settings: BackendSettings, metrics: BackendMetrics, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        super().__init__("detector", settings.detector_url, settings.detector_api_key, settings, metrics, transport)

    async def detect(
        self, image: bytes | str, camera_id: str | None = None, conf_threshold: float | None = None
    ) -> DetectResponse:
        """Objects in one frame (bytes, or base64 text); raises ``EnrichmentCallError``
        with the service's code when it refuses or cannot be reached."""
        payload = {"image": encoded(image), "camera_id": camera_id, "conf_threshold": conf_threshold}
        return DetectResponse.model_validate(await self._post(DETECT.path, payload))

    async def detect_batch(
        self, images: list[bytes | str], camera_id: str | None = None, conf_threshold: float | None = None
    ) -> BatchDetectResponse:
        """Several frames in one forward pass; results in the order given."""
        payload = {"images": [encoded(i) for i in images], "camera_id": camera_id, "conf_threshold": conf_threshold}
        return BatchDetectResponse.model_validate(await self._post(DETECT_BATCH.path, payload))
