"""The app factory every model service is built with."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi

from ai.runtime.envelope import install_error_handlers
from ai.runtime.image_request import REQUEST_SCHEMAS
from ai.runtime.metrics import RequestMetrics
from ai.runtime.middleware import RequestContextMiddleware
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
            await runtime.manager.close()

    app = FastAPI(title=title, version=version, description=description, lifespan=lifespan)
    app.state.runtime = runtime
    runtime.health_extra = health_extra
    apply_conventions(app, runtime.metrics, runtime.settings.max_request_bytes)
    app.include_router(standard_router)
    for router in routers:
        app.include_router(router)
    return app


def apply_conventions(app: FastAPI, metrics: RequestMetrics, max_request_bytes: int) -> None:
    """What every HTTP service of the fleet shares, with or without models: the error
    envelope, request ids, the access log, request metrics, the body limit, and
    OpenAPI for endpoints that read their own (JSON or multipart) bodies."""
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, metrics=metrics, max_body_bytes=max_request_bytes)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, model in REQUEST_SCHEMAS.items():
            model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(model_schema.pop("$defs", {}))
            components[name] = model_schema
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
