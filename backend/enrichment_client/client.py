"""The enrichment client: routes each model call to the light or heavy service, and
enriches a detection with one /enrich per service, merged into one result."""

from __future__ import annotations

import asyncio
import time
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from ai.contracts.enrichment import (
    DepthResponse,
    EnrichResponse,
    ObjectDistanceResponse,
    PetResponse,
    PoseResponse,
    ReidResponse,
    ThreatResponse,
    VehicleResponse,
)
from ai.contracts.enrichment_result import DetectionEnrichRequest, EnrichmentResult
from ai.runtime.triggers import planned_models
from backend.enrichment_client.context import render_context
from backend.enrichment_client.errors import EnrichmentCallError
from backend.enrichment_client.merge import merge
from backend.enrichment_client.policy import CircuitBreaker, RetryPolicy
from backend.enrichment_client.routing import Router
from backend.enrichment_client.transport import ServiceClient
from backend.metrics import BackendMetrics
from backend.settings import BackendSettings
from backend.storage.recorder import LatencyRecorder

R = TypeVar("R", bound=BaseModel)


class EnrichmentClient:
    def __init__(
        self,
        settings: BackendSettings,
        metrics: BackendMetrics,
        recorder: LatencyRecorder | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.router = Router.from_environment(settings.enrichment_urls)
        self.metrics = metrics
        self.recorder = recorder
        limits = httpx.Limits(max_connections=settings.max_concurrency * 2)
        self.http = httpx.AsyncClient(transport=transport, limits=limits)
        policy = RetryPolicy(settings.retry_attempts, settings.retry_base_s, settings.retry_max_s, settings.deadline_s)
        self.services = {
            name: ServiceClient(
                name,
                url,
                self.http,
                policy,
                CircuitBreaker(settings.breaker_failures, settings.breaker_cooldown_s),
                settings.max_concurrency,
                metrics,
                settings.connect_timeout_s,
                settings.read_timeout_s,
            )
            for name, url in self.router.urls.items()
        }

    async def close(self) -> None:
        await self.http.aclose()

    # ----- direct calls, one model each -------------------------------------------------

    async def pose_analyze(self, image: str, bbox: Any = None) -> PoseResponse:
        return await self._direct("pose_estimator", "/pose-analyze", {"image": image, "bbox": bbox}, PoseResponse)

    async def threat_detect(self, image: str, bbox: Any = None) -> ThreatResponse:
        return await self._direct("threat_detector", "/threat-detect", {"image": image, "bbox": bbox}, ThreatResponse)

    async def person_reid(self, image: str, bbox: Any = None) -> ReidResponse:
        return await self._direct("person_reid", "/person-reid", {"image": image, "bbox": bbox}, ReidResponse)

    async def pet_classify(self, image: str, bbox: Any = None) -> PetResponse:
        return await self._direct("pet_classifier", "/pet-classify", {"image": image, "bbox": bbox}, PetResponse)

    async def depth_estimate(self, image: str, bbox: Any = None) -> DepthResponse:
        return await self._direct("depth_estimator", "/depth-estimate", {"image": image, "bbox": bbox}, DepthResponse)

    async def object_distance(self, image: str, bbox: Any, method: str = "median") -> ObjectDistanceResponse:
        return await self._direct(
            "depth_estimator",
            "/object-distance",
            {"image": image, "bbox": bbox, "method": method},
            ObjectDistanceResponse,
        )

    async def vehicle_classify(self, image: str, bbox: Any = None) -> VehicleResponse:
        return await self._direct(
            "vehicle_classifier", "/vehicle-classify", {"image": image, "bbox": bbox}, VehicleResponse
        )

    async def _direct(self, model: str, path: str, payload: dict[str, Any], shape: type[R]) -> R:
        service = self.router.route_for(model)
        body = {k: v for k, v in payload.items() if v is not None}
        try:
            answer = self._parse(service, shape, await self.services[service].post(path, body))
        except EnrichmentCallError:
            self._record(model, service, path, 0.0, ok=False)
            raise
        self._record(model, service, path, getattr(answer, "inference_time_ms", 0.0), ok=True)
        return answer

    # ----- one detection, both services -----------------------------------------------

    async def enrich(self, detection: DetectionEnrichRequest) -> EnrichmentResult:
        started = time.perf_counter()
        options = detection.options.model_dump(exclude_none=True)
        plan = self.router.by_service(planned_models(self.router.entries, detection.detection_type, options))
        payload = detection.model_dump(mode="json", exclude_none=True)
        if detection.bbox is not None:
            payload["bbox"] = list(detection.bbox)
        calls = {service: self._enrich_on(service, payload) for service in plan}
        outcomes = await asyncio.gather(*calls.values())
        answers = {service: answer for service, (answer, _ms) in zip(calls, outcomes, strict=True)}
        latencies = {service: ms for service, (_answer, ms) in zip(calls, outcomes, strict=True)}
        result = merge(detection.detection_id, detection.detection_type, plan, answers, latencies, self.router)
        for service, answer in answers.items():
            if isinstance(answer, EnrichResponse):
                for model, ms in answer.model_times_ms.items():
                    self._record(model, service, "/enrich", ms, ok=True)
        for model, failure in result.errors.items():
            self._record(model, failure.service, "/enrich", 0.0, ok=False)
        result.context = render_context(result)
        result.inference_time_ms = round((time.perf_counter() - started) * 1000.0, 2)
        self.metrics.enrichment_results.labels(status=result.status).inc()
        return result

    async def _enrich_on(
        self, service: str, payload: dict[str, Any]
    ) -> tuple[EnrichResponse | EnrichmentCallError, float]:
        started = time.perf_counter()
        try:
            body = await self.services[service].post("/enrich", payload)
            answer: EnrichResponse | EnrichmentCallError = self._parse(service, EnrichResponse, body)
        except EnrichmentCallError as exc:
            answer = exc
        return answer, (time.perf_counter() - started) * 1000.0

    # ----- helpers ---------------------------------------------------------------------

    @staticmethod
    def _parse(service: str, shape: type[R], body: dict[str, Any]) -> R:
        try:
            return shape.model_validate(body)
        except ValidationError as exc:
            raise EnrichmentCallError(
                service, "BAD_RESPONSE", f"answer does not match {shape.__name__}: {exc.errors()[:3]}"
            ) from exc

    def _record(self, model: str, service: str, endpoint: str, latency_ms: float, ok: bool) -> None:
        if self.recorder is not None:
            self.recorder.record(model, service, endpoint, latency_ms, ok)
