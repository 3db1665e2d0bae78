"""The enrichment client: routes each model call to the light or heavy service, and
enriches a frame's detections with one /enrich per service, merged per detection."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from pydantic import ValidationError

from ai.contracts import enrichment_endpoints as endpoints
from ai.contracts.endpoints import Endpoint
from ai.contracts.enrichment import (
    DepthResponse,
    EnrichResponse,
    FrameEnrichResponse,
    ObjectDistanceResponse,
    PetResponse,
    PoseResponse,
    ReidResponse,
    ThreatResponse,
    VehicleResponse,
)
from ai.contracts.enrichment_plan import planned_models
from ai.contracts.enrichment_result import (
    DetectionEnrichRequest,
    EnrichmentResult,
    FrameDetection,
    FrameEnrichmentResult,
    FrameEnrichRequest,
)
from ai.runtime.errors import CODE_FOR_STATUS, ErrorCode, ServiceError
from backend.enrichment_client.context import render_context
from backend.enrichment_client.errors import EnrichmentCallError
from backend.enrichment_client.merge import SERVICE_ORDER, merge
from backend.enrichment_client.routing import Router
from backend.metrics import BackendMetrics
from backend.service_clients import pooled_http, service_client
from backend.settings import BackendSettings
from backend.storage.recorder import LatencyRecorder

ServiceAnswer = FrameEnrichResponse | EnrichmentCallError


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
        self.http = pooled_http(settings, transport)
        self.services = {
            name: service_client(name, url, settings.enrichment_api_keys.get(name), settings, metrics, self.http)
            for name, url in self.router.urls.items()
        }

    async def close(self) -> None:
        for service in self.services.values():
            await service.close()
        await self.http.aclose()

    async def pose_analyze(self, image: str, bbox: Any = None) -> PoseResponse:
        return await self._direct(endpoints.POSE, {"image": image, "bbox": bbox})

    async def threat_detect(self, image: str, bbox: Any = None) -> ThreatResponse:
        return await self._direct(endpoints.THREAT, {"image": image, "bbox": bbox})

    async def person_reid(self, image: str, bbox: Any = None) -> ReidResponse:
        return await self._direct(endpoints.REID, {"image": image, "bbox": bbox})

    async def pet_classify(self, image: str, bbox: Any = None) -> PetResponse:
        return await self._direct(endpoints.PET, {"image": image, "bbox": bbox})

    async def depth_estimate(self, image: str, bbox: Any = None) -> DepthResponse:
        return await self._direct(endpoints.DEPTH, {"image": image, "bbox": bbox})

    async def object_distance(self, image: str, bbox: Any, method: str = "median") -> ObjectDistanceResponse:
        return await self._direct(endpoints.DISTANCE, {"image": image, "bbox": bbox, "method": method})

    async def vehicle_classify(self, image: str, bbox: Any = None) -> VehicleResponse:
        return await self._direct(endpoints.VEHICLE, {"image": image, "bbox": bbox})

    async def _direct(self, endpoint: Endpoint, payload: dict[str, Any]) -> Any:
        """One model's endpoint, on the service that hosts the model."""
        assert endpoint.model is not None
        model, path = endpoint.model, endpoint.path
        service = self.router.route_for(model)
        body = {k: v for k, v in payload.items() if v is not None}
        try:
            answer = self._parse(service, endpoint.response, await self.services[service].post(path, body))
        except EnrichmentCallError:
            self._record(model, service, path, 0.0, ok=False)
            raise
        self._record(model, service, path, answer.inference_time_ms, ok=True)
        return answer

    async def enrich(self, detection: DetectionEnrichRequest) -> EnrichmentResult:
        """One detection: a frame of one."""
        frame = FrameEnrichRequest(
            image=detection.image,
            detections=[
                FrameDetection(
                    detection_id=detection.detection_id, detection_type=detection.detection_type, bbox=detection.bbox
                )
            ],
            frames=detection.frames,
            options=detection.options,
        )
        return (await self.enrich_frame(frame)).detections[0]

    async def enrich_frame(self, frame: FrameEnrichRequest) -> FrameEnrichmentResult:
        """A frame's detections: one /enrich per service that any of them is routed to
        (carrying only the detections routed there), merged per detection id."""
        started = time.perf_counter()
        options = frame.options.model_dump(exclude_none=True)
        plans = {
            d.detection_id: self.router.by_service(planned_models(self.router.entries, d.detection_type, options))
            for d in frame.detections
        }
        services = [s for s in SERVICE_ORDER if any(s in plan for plan in plans.values())]
        sent = {s: [d for d in frame.detections if s in plans[d.detection_id]] for s in services}
        outcomes = await asyncio.gather(*(self._enrich_on(s, self._payload(frame, sent[s])) for s in services))
        answers = {s: answer for s, (answer, _ms) in zip(services, outcomes, strict=True)}
        latencies = {s: ms for s, (_answer, ms) in zip(services, outcomes, strict=True)}
        _refuse_if_every_service_refused_the_input(answers)
        self._record_frame(answers)
        results, failed = [], set()
        for detection in frame.detections:
            plan = plans[detection.detection_id]
            mine = {s: _answer_for(answers[s], detection.detection_id, s) for s in plan}
            result = merge(detection.detection_id, detection.detection_type, plan, mine, latencies, self.router)
            for service, call in result.services.items():
                call.detections = len(sent[service])
            failed |= {(model, failure.service) for model, failure in result.errors.items()}
            result.context = render_context(result)
            result.inference_time_ms = round((time.perf_counter() - started) * 1000.0, 2)
            self.metrics.enrichment_results.labels(status=result.status).inc()
            results.append(result)
        for model, service in sorted(failed):  # one sample per model and call, as for successes
            self._record(model, service, endpoints.ENRICH.path, 0.0, ok=False)
        return FrameEnrichmentResult(
            detections=results, inference_time_ms=round((time.perf_counter() - started) * 1000.0, 2)
        )

    @staticmethod
    def _payload(frame: FrameEnrichRequest, detections: list[FrameDetection]) -> dict[str, Any]:
        payload = frame.model_dump(mode="json", exclude_none=True, exclude={"detections"})
        payload["detections"] = [
            {
                "detection_id": d.detection_id,
                "detection_type": d.detection_type,
                **({"bbox": list(d.bbox)} if d.bbox is not None else {}),
            }
            for d in detections
        ]
        return payload

    async def _enrich_on(self, service: str, payload: dict[str, Any]) -> tuple[ServiceAnswer, float]:
        started = time.perf_counter()
        try:
            body = await self.services[service].post(endpoints.ENRICH.path, payload)
            answer: ServiceAnswer = self._parse(service, FrameEnrichResponse, body)
        except EnrichmentCallError as exc:
            answer = exc
        return answer, (time.perf_counter() - started) * 1000.0

    def _record_frame(self, answers: dict[str, ServiceAnswer]) -> None:
        """One latency sample per model and call, however many detections its pass served."""
        for service, answer in answers.items():
            if isinstance(answer, EnrichmentCallError):
                continue
            times: dict[str, float] = {}
            for detection in answer.detections:
                for model, ms in detection.model_times_ms.items():
                    times.setdefault(model, ms)
            for model, ms in times.items():
                self._record(model, service, endpoints.ENRICH.path, ms, ok=True)

    @staticmethod
    def _parse(service: str, shape: Any, body: dict[str, Any]) -> Any:
        try:
            return shape.model_validate(body)
        except ValidationError as exc:
            raise EnrichmentCallError(
                service, "BAD_RESPONSE", f"answer does not match {shape.__name__}: {exc.errors()[:3]}"
            ) from exc

    def _record(self, model: str, service: str, endpoint: str, latency_ms: float, ok: bool) -> None:
        if self.recorder is not None:
            self.recorder.record(model, service, endpoint, latency_ms, ok)


# Statuses by which a service says the input itself is bad (not auth, routing or load).
INPUT_ERROR_STATUSES = frozenset({400, 413, 415, 422})


def _refuse_if_every_service_refused_the_input(answers: dict[str, ServiceAnswer]) -> None:
    """When every service called refused the input (400, 413, 415, 422), the caller's
    request is what is wrong: answer that status and envelope (the first service's code
    and message, naming it in ``details``), not a 200 with every model FAILED."""
    errors = [a for a in answers.values() if isinstance(a, EnrichmentCallError)]
    if not answers or len(errors) < len(answers) or any(e.status not in INPUT_ERROR_STATUSES for e in errors):
        return
    first = errors[0]  # services are in SERVICE_ORDER
    try:
        code = ErrorCode(first.code)
    except ValueError:
        code = CODE_FOR_STATUS.get(first.status or 400, ErrorCode.INVALID_REQUEST)
    details = {
        **first.details,
        "service": first.service,
        "services": {e.service: {"status": e.status, "code": e.code, "message": e.message} for e in errors},
    }
    raise ServiceError(code, first.message, details=details, status=first.status)


def _answer_for(answer: ServiceAnswer, detection_id: str, service: str) -> EnrichResponse | EnrichmentCallError:
    """This detection's part of a service's frame answer."""
    if isinstance(answer, EnrichmentCallError):
        return answer
    for item in answer.detections:
        if item.detection_id == detection_id:
            return item
    return EnrichmentCallError(service, "BAD_RESPONSE", f"the answer has no result for detection {detection_id!r}")
