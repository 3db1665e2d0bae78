"""Per-request facts shared between the middleware, handlers and the access log."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ai.runtime.security.policy import Principal


@dataclass
class RequestInfo:
    request_id: str
    model: str | None = None
    client: str | None = None  # after trusted-proxy resolution
    principal: Principal | None = None
    on_finish: list[Any] = field(default_factory=list)  # callables run when the request ends


_current: contextvars.ContextVar[RequestInfo | None] = contextvars.ContextVar("request_info", default=None)


def current_request_id() -> str | None:
    info = _current.get()
    return info.request_id if info else None


def current_request() -> RequestInfo | None:
    return _current.get()


def sees_internals() -> bool:
    """Whether the caller may see weight paths and library errors (see ``Principal``).
    Outside a request (logs, tests of internals) everything is shown."""
    info = _current.get()
    if info is None or info.principal is None:
        return info is None
    return info.principal.sees_internals


def set_request(info: RequestInfo) -> contextvars.Token[RequestInfo | None]:
    return _current.set(info)


def reset_request(token: contextvars.Token[RequestInfo | None]) -> None:
    _current.reset(token)


def note_model(name: str) -> None:
    """Record which model served the request, for the access log."""
    info = _current.get()
    if info is not None:
        info.model = name if info.model is None else f"{info.model},{name}"
