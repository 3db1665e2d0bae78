"""Load and unload, passed through to the service that hosts the model, with the key the
backend holds for it; the service's own error (its code, status and message) comes back
as it was given, so the operator sees e.g. the admin scope the service asked for."""

from __future__ import annotations

import contextlib
from typing import Any, Literal

import httpx

from ai.contracts.models import ModelStatus
from ai.runtime.errors import ErrorCode, ServiceError
from backend.model_zoo.fleet import service_headers, service_urls
from backend.relay import relayed
from backend.state import BackendState


async def model_action(state: BackendState, service: str, name: str, action: Literal["load", "unload"]) -> ModelStatus:
    url = service_urls(state)[service]
    try:
        response = await state.client.http.post(
            f"{url}/models/{name}/{action}",
            headers=service_headers(state).get(service),
            timeout=httpx.Timeout(state.settings.model_load_timeout_s, connect=state.settings.connect_timeout_s),
        )
    except httpx.HTTPError as exc:
        raise ServiceError(
            ErrorCode.SERVICE_UNAVAILABLE,
            f"the {service} service at {url} did not answer the {action} of {name}: {type(exc).__name__}",
            details={"service": service, "model": name},
        ) from exc
    if response.is_success:
        return ModelStatus.model_validate(response.json())
    raise _relayed(response, service, name, action)


def _relayed(response: httpx.Response, service: str, name: str, action: str) -> ServiceError:
    error: dict[str, Any] = {}
    with contextlib.suppress(ValueError, KeyError, TypeError):
        error = response.json()["error"]
    message = f"refused the {action} of {name}: {error.get('message') or f'HTTP {response.status_code}'}"
    details = {"model": name, **(error.get("details") or {})}
    return relayed(service, error.get("code"), message, response.status_code, details, _retry_after(response))


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers["retry-after"])
    except (KeyError, ValueError):
        return None
