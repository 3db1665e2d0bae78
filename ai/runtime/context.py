"""Per-request facts shared between the middleware, handlers and the access log."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass
class RequestInfo:
    request_id: str
    model: str | None = None


_current: contextvars.ContextVar[RequestInfo | None] = contextvars.ContextVar("request_info", default=None)


def current_request_id() -> str | None:
    info = _current.get()
    return info.request_id if info else None


def set_request(info: RequestInfo) -> contextvars.Token[RequestInfo | None]:
    return _current.set(info)


def reset_request(token: contextvars.Token[RequestInfo | None]) -> None:
    _current.reset(token)


def note_model(name: str) -> None:
    """Record which model served the request, for the access log."""
    info = _current.get()
    if info is not None:
        info.model = name if info.model is None else f"{info.model},{name}"
