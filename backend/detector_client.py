"""The detector as the backend calls it: ``/detect`` and ``/detect/batch`` with typed
answers (the contract the service itself is built from), through the same transport as
the enrichment calls: key, concurrency limit, retries, circuit breaker, ``/ready`` probe.
The retry and breaker settings are the ``ENRICHMENT_*`` ones."""

from __future__ import annotations

import base64

import httpx

from ai.contracts.detector import DETECT, DETECT_BATCH, BatchDetectResponse, DetectResponse
from backend.enrichment_client.policy import CircuitBreaker, RetryPolicy
from backend.enrichment_client.transport import ServiceClient
from backend.metrics import BackendMetrics
from backend.settings import BackendSettings


def _encoded(image: bytes | str) -> str:
    return image if isinstance(image, str) else base64.b64encode(image).decode("ascii")


class DetectorClient:
    def __init__(
        self, settings: BackendSettings, metrics: BackendMetrics, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.http = httpx.AsyncClient(
            transport=transport, limits=httpx.Limits(max_connections=settings.max_concurrency * 2)
        )
        self.service = ServiceClient(
            "detector",
            settings.detector_url.rstrip("/"),
            self.http,
            RetryPolicy(settings.retry_attempts, settings.retry_base_s, settings.retry_max_s, settings.deadline_s),
            CircuitBreaker(settings.breaker_failures, settings.breaker_cooldown_s, settings.breaker_half_open_calls),
            settings.max_concurrency,
            metrics,
            settings.connect_timeout_s,
            settings.read_timeout_s,
            api_key=settings.detector_api_key,
            ready_probe_s=settings.ready_probe_s,
        )

    async def detect(
        self, image: bytes | str, camera_id: str | None = None, conf_threshold: float | None = None
    ) -> DetectResponse:
        """Objects in one frame (bytes, or base64 text); raises ``EnrichmentCallError``
        with the service's code when it refuses or cannot be reached."""
        payload = {"image": _encoded(image), "camera_id": camera_id, "conf_threshold": conf_threshold}
        answer = await self.service.post(DETECT.path, {k: v for k, v in payload.items() if v is not None})
        return DetectResponse.model_validate(answer)

    async def detect_batch(
        self, images: list[bytes | str], camera_id: str | None = None, conf_threshold: float | None = None
    ) -> BatchDetectResponse:
        """Several frames in one forward pass; results in the order given."""
        payload = {"images": [_encoded(i) for i in images], "camera_id": camera_id, "conf_threshold": conf_threshold}
        answer = await self.service.post(DETECT_BATCH.path, {k: v for k, v in payload.items() if v is not None})
        return BatchDetectResponse.model_validate(answer)

    async def close(self) -> None:
        await self.service.close()
        await self.http.aclose()
