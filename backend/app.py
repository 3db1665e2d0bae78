"""The backend app, on the runtime's conventions (envelope, request id, access log)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI

from ai.runtime.conventions import apply_conventions
from backend.api import enrich, model_zoo, service
from backend.enrichment_client.client import EnrichmentClient
from backend.metrics import BackendMetrics
from backend.settings import BackendSettings
from backend.state import BackendState
from backend.storage.latency import LatencyStore
from backend.storage.recorder import LatencyRecorder

logger = logging.getLogger(__name__)


def create_backend_app(
    settings: BackendSettings | None = None, transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    """``transport`` lets tests reach services without sockets; production uses the network."""
    settings = settings or BackendSettings()
    metrics = BackendMetrics()
    store = LatencyStore(settings.database)
    recorder = LatencyRecorder(store, settings.latency_retention_days)
    client = EnrichmentClient(settings, metrics, recorder, transport)
    state = BackendState(settings=settings, metrics=metrics, store=store, recorder=recorder, client=client)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            await asyncio.to_thread(store.create)
        except Exception as exc:
            state.database_error = f"{type(exc).__name__}: {exc}"
            logger.error("database %s is not usable: %s", settings.database, state.database_error)
        recorder.start()
        logger.info("backend routing: %s", {name: client.router.route_for(name) for name in client.router.entries})
        try:
            yield
        finally:
            await recorder.stop()
            await client.close()
            store.close()

    app = FastAPI(
        title="Home-security AI backend",
        version="0.1.0",
        description="Enrichment routing, the Model Zoo API and latency history.",
        lifespan=lifespan,
    )
    app.state.backend = state
    apply_conventions(app, metrics, settings)
    for router in (service.router, enrich.router, model_zoo.router):
        app.include_router(router)
    return app
