"""What every HTTP service of the fleet shares, with or without models: the error
envelope, request ids, the access log, request metrics, the body limit, the security
gate (keys, allowlist, rate limits, CORS), and OpenAPI for endpoints that read their
own (JSON or multipart) bodies. Torch-free, so the backend uses it without the model
stack."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from starlette.middleware.cors import CORSMiddleware

from ai.contracts.errors import ErrorEnvelope
from ai.runtime.envelope import install_error_handlers
from ai.runtime.image_request import REQUEST_SCHEMAS
from ai.runtime.metrics import RequestMetrics
from ai.runtime.middleware import RequestContextMiddleware
from ai.runtime.security.middleware import SecurityMiddleware
from ai.runtime.security.policy import SCOPE_KEY, SecurityPolicy, default_scope
from ai.runtime.settings import ServiceSettings

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorEnvelope} for code in (400, 401, 403, 404, 409, 413, 415, 422, 429, 500, 503)
}


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` declaring a JSON request body, for a route that reads its body itself
    (to refuse hostile JSON before pydantic sees it) and so takes no body parameter."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": model.model_json_schema()}}}}


def apply_conventions(app: FastAPI, metrics: RequestMetrics, settings: ServiceSettings) -> SecurityPolicy:
    """Install the shared middleware and handlers; raises ``StartupError`` on a bad
    security configuration. The policy is also at ``app.state.security``."""
    policy = SecurityPolicy.from_settings(settings, settings.host)
    app.state.security = policy
    install_error_handlers(app)
    app.add_middleware(SecurityMiddleware, policy=policy)
    if policy.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(policy.cors_origins),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
            allow_credentials=False,  # keys travel in a header, never in cookies
        )
    app.add_middleware(RequestContextMiddleware, metrics=metrics, max_body_bytes=settings.max_request_bytes)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        components = schema.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        for name, model in REQUEST_SCHEMAS.items():
            model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(model_schema.pop("$defs", {}))
            schemas[name] = model_schema
        _document_security(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    return policy


def _document_security(schema: dict[str, Any]) -> None:
    """Bearer keys in OpenAPI: every operation but the probes names the scope it needs."""
    schema["components"]["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "description": "An API key (python -m ai.runtime.security)"}
    }
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            needed = operation.get(SCOPE_KEY) or default_scope(method).value
            operation[SCOPE_KEY] = needed
            if needed != "public" and path not in ("/health", "/ready"):
                operation["security"] = [{"bearer": []}]


def security_status(request: Request) -> dict[str, Any]:
    policy: SecurityPolicy | None = getattr(request.app.state, "security", None)
    return policy.status() if policy is not None else {}
