"""What the running backend holds, shared by its routes."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from fastapi import Request

from backend.enrichment_client.client import EnrichmentClient
from backend.metrics import BackendMetrics
from backend.settings import BackendSettings
from backend.storage.latency import LatencyStore
from backend.storage.recorder import LatencyRecorder


@dataclass
class BackendState:
    settings: BackendSettings
    metrics: BackendMetrics
    store: LatencyStore
    recorder: LatencyRecorder
    client: EnrichmentClient
    started_at: float = field(default_factory=time.monotonic)
    database_error: str | None = None


def get_state(request: Request) -> BackendState:
    return request.app.state.backend
