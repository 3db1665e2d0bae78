"""The one way the backend builds a transport to a model service: key, concurrency
limit, retries, circuit breaker and ``/ready`` probe under the ``ENRICHMENT_*``
settings, so every service is called with the same policy. :class:`TypedClient` is the
base of the per-service clients (detector, Florence-2, CLIP, the LLM)."""

from __future__ import annotations

import base64
from typing import Any

import httpx
from pydantic import SecretStr

from backend.enrichment_client.policy import CircuitBreaker, RetryPolicy
from backend.enrichment_client.transport import ServiceClient
from backend.metrics import BackendMetrics
from backend.settings import BackendSettings


def service_client(
    name: str,
    url: str,
    api_key: SecretStr | None,
    settings: BackendSettings,
    metrics: BackendMetrics,
    http: httpx.AsyncClient,
    read_timeout_s: float | None = None,
    deadline_s: float | None = None,
    ready_path: str = "/ready",
) -> ServiceClient:
    """``name`` at ``url`` over ``http``; each service gets its own breaker and slots.
    A service that answers slower than the enrichment ones (the LLM) passes its own
    read timeout and deadline."""
    deadline = deadline_s if deadline_s is not None else settings.deadline_s
    return ServiceClient(
        name,
        url.rstrip("/"),
        http,
        RetryPolicy(settings.retry_attempts, settings.retry_base_s, settings.retry_max_s, deadline),
        CircuitBreaker(settings.breaker_failures, settings.breaker_cooldown_s, settings.breaker_half_open_calls),
        settings.max_concurrency,
        metrics,
        settings.connect_timeout_s,
        read_timeout_s if read_timeout_s is not None else settings.read_timeout_s,
        api_key=api_key,
        ready_probe_s=settings.ready_probe_s,
        ready_path=ready_path,
    )


def pooled_http(settings: BackendSettings, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """Room for every concurrent call plus the ``/ready`` probes and status reads."""
    return httpx.AsyncClient(transport=transport, limits=httpx.Limits(max_connections=settings.max_concurrency * 2))


def encoded(image: bytes | str) -> str:
    """The JSON ``image`` field: bytes are base64-encoded, text is sent as given."""
    return image if isinstance(image, str) else base64.b64encode(image).decode("ascii")


class TypedClient:
    """One model service's connection pool and transport; subclasses add typed calls.
    Failures raise ``EnrichmentCallError`` carrying the service's status and code."""

    def __init__(
        self,
        name: str,
        url: str,
        api_key: SecretStr | None,
        settings: BackendSettings,
        metrics: BackendMetrics,
        transport: httpx.AsyncBaseTransport | None = None,
        **policy: Any,
    ) -> None:
        """``policy``: what :func:`service_client` lets a service set apart (timeouts, ready path)."""
        self.http = pooled_http(settings, transport)
        self.service = service_client(name, url, api_key, settings, metrics, self.http, **policy)

    async def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Unset options are left out, so the service applies its own defaults."""
        return await self.service.post(path, {k: v for k, v in payload.items() if v is not None})

    async def close(self) -> None:
        await self.service.close()
        await self.http.aclose()
