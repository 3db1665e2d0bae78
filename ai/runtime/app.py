"""The app factory every model service is built with."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from fastapi import APIRouter, FastAPI

from ai.runtime.conventions import apply_conventions
from ai.runtime.routes import router as standard_router
from ai.runtime.service import ServiceRuntime
from ai.runtime.threads import configure_torch_threads

logger = logging.getLogger(__name__)


def create_app(
    runtime: ServiceRuntime,
    *,
    title: str,
    version: str = "0.1.0",
    description: str = "",
    routers: Iterable[APIRouter] = (),
    health_extra: Callable[[], dict[str, Any]] | None = None,
) -> FastAPI:
    """A FastAPI app with health, readiness, metrics, model management, the error
    envelope, request ids, the access log and the body limit; plus ``routers``."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        preload = runtime.settings.preload_models
        configure_torch_threads(runtime.settings.torch_threads, runtime.settings.inference_workers)
        logger.info(
            "%s on %s, budget %.0f MB, preload %s",
            runtime.settings.service_name,
            runtime.device.torch_device,
            runtime.manager.budget_mb,
            preload or "none",
        )
        runtime.manager.start(preload=preload)
        try:
            yield
        finally:
            await runtime.close()

    app = FastAPI(title=title, version=version, description=description, lifespan=lifespan)
    app.state.runtime = runtime
    runtime.health_extra = health_extra
    apply_conventions(app, runtime.metrics, runtime.settings)
    app.include_router(standard_router)
    for router in routers:
        app.include_router(router)
    return app
