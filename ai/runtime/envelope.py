"""Render every error, ours or the framework's, as the fleet's envelope."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ai.contracts.errors import ErrorBody, ErrorEnvelope
from ai.runtime.context import current_request_id, sees_internals
from ai.runtime.errors import CODE_FOR_STATUS, ErrorCode, ServiceError
from ai.runtime.redact import redact_text, redact_value

logger = logging.getLogger(__name__)


def envelope_bytes(code: str, message: str, details: dict[str, Any] | None = None) -> bytes:
    body = ErrorEnvelope(
        error=ErrorBody(code=code, message=message, request_id=current_request_id(), details=details or {})
    )
    return body.model_dump_json().encode()


def error_bytes(error: ServiceError) -> bytes:
    """The envelope of ``error`` as the current caller may see it (paths and library
    text of a sensitive error are only for admin keys and local callers)."""
    if error.sensitive and not sees_internals():
        return envelope_bytes(error.code.value, redact_text(error.message), redact_value(error.details))
    return envelope_bytes(error.code.value, error.message, error.details)


def error_response(error: ServiceError) -> JSONResponse:
    return JSONResponse(json.loads(error_bytes(error)), status_code=error.status, headers=error.headers())


def validation_details(errors: list[Any]) -> list[dict[str, Any]]:
    """Pydantic errors without the (possibly huge) offending input."""
    return [
        {"loc": [str(p) for p in err.get("loc", ())], "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in errors
    ]


def validation_error(errors: list[Any]) -> ServiceError:
    details = validation_details(errors)
    summary = "; ".join(f"{'.'.join(d['loc']) or 'body'}: {d['msg']}" for d in details[:5])
    return ServiceError(
        ErrorCode.INVALID_REQUEST, f"invalid request: {summary}", details={"errors": details}, status=422
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service_error(_request: Request, exc: ServiceError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(validation_error(list(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = CODE_FOR_STATUS.get(exc.status_code, ErrorCode.INTERNAL)
        message = str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"no endpoint {request.method} {request.url.path}; see /docs"
        elif exc.status_code == 405:
            allowed = (exc.headers or {}).get("Allow", "")
            message = f"{request.method} is not allowed on {request.url.path}; allowed: {allowed or 'none'}"
        error = ServiceError(code, message, status=exc.status_code)
        error.extra_headers.update(exc.headers or {})
        return error_response(error)
