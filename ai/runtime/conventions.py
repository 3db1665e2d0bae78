"""What every HTTP service of the fleet shares, with or without models: the error
envelope, request ids, the access log, request metrics, the body limit, and OpenAPI
for endpoints that read their own (JSON or multipart) bodies. Torch-free, so the
backend uses it without the model stack."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from ai.contracts.errors import ErrorEnvelope
from ai.runtime.envelope import install_error_handlers
from ai.runtime.image_request import REQUEST_SCHEMAS
from ai.runtime.metrics import RequestMetrics
from ai.runtime.middleware import RequestContextMiddleware

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorEnvelope} for code in (400, 404, 409, 413, 415, 422, 500, 503)
}


def apply_conventions(app: FastAPI, metrics: RequestMetrics, max_request_bytes: int) -> None:
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
