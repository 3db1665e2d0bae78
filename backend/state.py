"""What the running backend holds, shared by its routes."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from fastapi import Request

from backend.crawl.browser import Crawler
from backend.enrichment_client.client import EnrichmentClient
from backend.enrichment_client.transport import ServiceClient
from backend.metrics import BackendMetrics
from backend.model_store.jobs import DownloadJobs
from backend.pipeline.analyze import FramePipeline
from backend.settings import BackendSettings
from backend.storage.events import EventStore
from backend.storage.latency import LatencyStore
from backend.storage.recorder import LatencyRecorder


@dataclass
class BackendState:
    settings: BackendSettings
    metrics: BackendMetrics
    store: LatencyStore
    recorder: LatencyRecorder
    client: EnrichmentClient
    events: EventStore
    pipeline: FramePipeline
    downloads: DownloadJobs
    crawler: Crawler
    started_at: float = field(default_factory=time.monotonic)
    database_error: str | None = None

    @property
    def pipeline_services(self) -> dict[str, ServiceClient]:
        """The pipeline's other services (detector, Florence-2, CLIP, LLM) by name."""
        p = self.pipeline
        return {c.service.name: c.service for c in (p.detector, p.florence, p.clip, p.risk)}


def get_state(request: Request) -> BackendState:
    return request.app.state.backend
