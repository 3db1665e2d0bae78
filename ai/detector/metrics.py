"""The MLOps specification's metric names, beside the runtime's own ``detector_*``.

``object_detection_requests_total{version,status}`` and
``object_detection_request_duration_seconds{version}`` are counted by a small ASGI
middleware around the detection paths, so a request refused before any model runs
(bad body, too many images) is counted too, with its HTTP status. The version is what
the handler chose (told through a context variable, since declared handlers see no
request), the path's for ``/v1/predict`` and ``/v2/predict``, else ``none``.
"""

from __future__ import annotations

import time
from contextvars import ContextVar

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ai.runtime.metrics import LATENCY_BUCKETS

_answered: ContextVar[dict[str, str] | None] = ContextVar("detector_answered", default=None)
DETECTION_PATHS = {"/detect": None, "/detect/batch": None, "/v1/predict": "v1", "/v2/predict": "v2"}


class DetectorMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.requests = Counter(
            "object_detection_requests_total",
            "Detection requests by version and HTTP status",
            ["version", "status"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "object_detection_request_duration_seconds",
            "Detection request latency, body to answer",
            ["version"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.inference_seconds = Histogram(
            "object_detection_inference_duration_seconds",
            "Forward pass time per detection request",
            ["version"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.drift = Counter(
            "data_drift_detected_total", "Drift checks that found drift, by version", ["version"], registry=r
        )
        self.active_learning = Counter(
            "active_learning_samples_total", "Uncertain frames saved for labelling, by version", ["version"], registry=r
        )


def note_version(version: str) -> None:
    """Tell the middleware which version answered this request."""
    answered = _answered.get()
    if answered is not None:
        answered["version"] = version


class DetectionMetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: DetectorMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path not in DETECTION_PATHS:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        answered: dict[str, str] = {}
        token = _answered.set(answered)

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            _answered.reset(token)
            version = answered.get("version") or DETECTION_PATHS[path] or "none"
            self.metrics.requests.labels(version=version, status=str(status)).inc()
            self.metrics.request_seconds.labels(version=version).observe(time.perf_counter() - started)
