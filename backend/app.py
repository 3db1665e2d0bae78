"""The backend app, on the runtime's conventions (envelope, request id, access log)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI

from ai.runtime.conventions import apply_conventions
from backend.api import admin, crawl, enrich, events, homelab, model_zoo, models, service
from backend.clip_client import ClipClient
from backend.crawl.browser import Crawler
from backend.detector_client import DetectorClient
from backend.enrichment_client.client import EnrichmentClient
from backend.florence_client import FlorenceClient
from backend.metrics import BackendMetrics
from backend.model_store.jobs import DownloadJobs
from backend.pipeline.analyze import FramePipeline
from backend.pipeline.entities import EntityIndex
from backend.risk.client import RiskClient
from backend.settings import BackendSettings
from backend.state import BackendState
from backend.storage.database import make_engine
from backend.storage.events import EventStore
from backend.storage.latency import LatencyStore
from backend.storage.recorder import LatencyRecorder

logger = logging.getLogger(__name__)

RETENTION_EVERY_S = 3600.0


def create_backend_app(
    settings: BackendSettings | None = None, transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    """``transport`` lets tests reach services without sockets; production uses the network."""
    settings = settings or BackendSettings()
    metrics = BackendMetrics()
    engine = make_engine(settings.database)
    store = LatencyStore(engine)
    event_store = EventStore(engine)
    recorder = LatencyRecorder(store, settings.latency_retention_days)
    client = EnrichmentClient(settings, metrics, recorder, transport)
    index = EntityIndex(
        settings.entity_same_camera_threshold,
        settings.entity_cross_camera_threshold,
        settings.entity_window_hours * 3600.0,
    )
    pipeline = FramePipeline(
        DetectorClient(settings, metrics, transport),
        client,
        FlorenceClient(settings, metrics, transport),
        ClipClient(settings, metrics, transport),
        RiskClient(settings, metrics, recorder, transport),
        event_store,
        index,
        metrics,
        recorder,
        caption=settings.pipeline_caption,
        max_detections=settings.pipeline_max_detections,
    )
    state = BackendState(
        settings=settings,
        metrics=metrics,
        store=store,
        recorder=recorder,
        client=client,
        events=event_store,
        pipeline=pipeline,
        downloads=DownloadJobs(settings.ai_models_path, settings.hf_home),
        crawler=Crawler(settings),
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            await asyncio.to_thread(store.create)
            recent = await asyncio.to_thread(event_store.recent_entities, time.time() - index.window_s)
            index.add(recent)
        except Exception as exc:
            state.database_error = f"{type(exc).__name__}: {exc}"
            logger.error("database %s is not usable: %s", settings.database, state.database_error)
        recorder.start()
        retention = asyncio.create_task(_retention(event_store, settings.event_retention_days), name="retention")
        logger.info("backend routing: %s", {name: client.router.route_for(name) for name in client.router.entries})
        try:
            yield
        finally:
            retention.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await retention
            await state.downloads.close()
            await state.crawler.close()
            await recorder.stop()
            await client.close()
            for other in (pipeline.detector, pipeline.florence, pipeline.clip, pipeline.risk):
                await other.close()
            engine.dispose()

    app = FastAPI(
        title="Home-security AI backend",
        version="0.1.0",
        description="The frame pipeline (camera frame to stored risk event), enrichment routing, "
        "the events and entities API, the Model Zoo API and latency history, model management "
        "(downloads, deletion, load and unload), the homelab AI API (captions, text embeddings, "
        "crawling) and the admin page.",
        lifespan=lifespan,
    )
    app.state.backend = state
    apply_conventions(app, metrics, settings)
    routers = (service, events, enrich, model_zoo, models, homelab, crawl, admin)
    for module in routers:
        app.include_router(module.router)
    return app


async def _retention(event_store: EventStore, days: float) -> None:
    """Every hour: delete events older than EVENT_RETENTION_DAYS (a failure waits for the next round)."""
    while True:
        try:
            removed = await asyncio.to_thread(event_store.prune, time.time() - days * 86400.0)
            if removed:
                logger.info("retention: deleted %d events older than %g days", removed, days)
        except Exception:
            logger.exception("retention: could not delete old events")
        await asyncio.sleep(RETENTION_EVERY_S)
