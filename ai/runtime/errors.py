"""The fleet's error codes and the exception that carries one to the client."""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Iterator
from enum import StrEnum
from typing import Any

from pydantic import ValidationError


class ErrorCode(StrEnum):
    INVALID_REQUEST = "INVALID_REQUEST"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    UNAUTHORIZED = "UNAUTHORIZED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    MODEL_NOT_FOUND = "MODEL_NOT_FOUND"
    MODEL_NOT_HOSTED = "MODEL_NOT_HOSTED"
    MODEL_DISABLED = "MODEL_DISABLED"
    MODEL_IN_USE = "MODEL_IN_USE"
    RATE_LIMIT_EXCEEDED = "RATE_LIMIT_EXCEEDED"
    INFERENCE_FAILED = "INFERENCE_FAILED"
    INTERNAL = "INTERNAL"
    MODEL_NOT_AVAILABLE = "MODEL_NOT_AVAILABLE"
    MODEL_LOAD_FAILED = "MODEL_LOAD_FAILED"
    RESOURCE_EXHAUSTED = "RESOURCE_EXHAUSTED"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    FETCH_FAILED = "FETCH_FAILED"


HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.INVALID_REQUEST: 400,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.MODEL_NOT_FOUND: 404,
    ErrorCode.MODEL_NOT_HOSTED: 409,
    ErrorCode.MODEL_DISABLED: 409,
    ErrorCode.MODEL_IN_USE: 409,
    ErrorCode.RATE_LIMIT_EXCEEDED: 429,
    ErrorCode.INFERENCE_FAILED: 500,
    ErrorCode.INTERNAL: 500,
    ErrorCode.MODEL_NOT_AVAILABLE: 503,
    ErrorCode.MODEL_LOAD_FAILED: 503,
    ErrorCode.RESOURCE_EXHAUSTED: 503,
    ErrorCode.SERVICE_UNAVAILABLE: 503,
    ErrorCode.FETCH_FAILED: 502,
}

# Codes for HTTP statuses that Starlette raises on its own (unknown route, wrong method).
CODE_FOR_STATUS: dict[int, ErrorCode] = {
    400: ErrorCode.INVALID_REQUEST,
    401: ErrorCode.UNAUTHORIZED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    422: ErrorCode.INVALID_REQUEST,
    429: ErrorCode.RATE_LIMIT_EXCEEDED,
    503: ErrorCode.SERVICE_UNAVAILABLE,
}


class ServiceError(Exception):
    """An error with a fleet error code; the app turns it into the envelope."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        status: int | None = None,
        retry_after: float | None = None,
        sensitive: bool = False,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}
        self.status = status or HTTP_STATUS[code]
        self.retry_after = retry_after
        self.sensitive = sensitive  # may carry weight paths or library text: redacted for most callers
        self.extra_headers: dict[str, str] = {}

    def headers(self) -> dict[str, str]:
        headers = dict(self.extra_headers)
        if self.retry_after is not None:
            headers["Retry-After"] = str(max(1, math.ceil(self.retry_after)))
        return headers

    def __repr__(self) -> str:
        return f"ServiceError({self.code}, {self.message!r})"


def invalid_request(message: str, **details: Any) -> ServiceError:
    return ServiceError(ErrorCode.INVALID_REQUEST, message, details=details)


class StartupError(Exception):
    """A service cannot start as configured; the message names what to fix."""


@contextlib.contextmanager
def exit_on_bad_configuration() -> Iterator[None]:
    """A configuration problem at start-up exits with status 2 and one message, not a traceback."""
    try:
        yield
    except (StartupError, ValidationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def one_line(exc: BaseException, limit: int = 300) -> str:
    """An exception as one line an operator can read: its first line (libraries append call
    logs and links below it), whitespace collapsed, cut at ``limit``."""
    lines = [" ".join(line.split()) for line in str(exc).splitlines()]
    text = next((line for line in lines if line), "") or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
