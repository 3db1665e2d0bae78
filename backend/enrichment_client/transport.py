"""One enrichment service as the backend calls it: concurrency limit, circuit breaker
and the retry policy around every request, in one place; the service's API key on every
request; and, while the breaker is open, a probe of the service's ``/ready`` that lets
trial calls through as soon as it answers 200."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import httpx
from pydantic import SecretStr

from backend.enrichment_client.errors import EnrichmentCallError
from backend.enrichment_client.policy import BreakerState, CircuitBreaker, RetryPolicy
from backend.metrics import BackendMetrics

logger = logging.getLogger(__name__)

# Every failure on the way (connect, read, write, protocol, pool, timeouts, a service
# killed mid-answer): retried under the policy and counted by the breaker.
RETRYABLE_TRANSPORT = (httpx.TransportError,)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _error_of(service: str, response: httpx.Response) -> EnrichmentCallError:
    """The service's envelope as an error; a non-envelope answer is reported as such."""
    try:
        error = response.json()["error"]
        details = error.get("details")
        return EnrichmentCallError(
            service,
            str(error["code"]),
            str(error["message"]),
            response.status_code,
            details if isinstance(details, dict) else None,
        )
    except (ValueError, KeyError, TypeError):
        text = response.text[:200].replace("\n", " ")
        return EnrichmentCallError(
            service, "BAD_RESPONSE", f"HTTP {response.status_code}: {text}", response.status_code
        )


def bearer_headers(api_key: SecretStr | None) -> dict[str, str]:
    """``Authorization: Bearer <key>`` when a key is configured (never logged)."""
    key = api_key.get_secret_value() if api_key is not None else ""
    return {"Authorization": f"Bearer {key}"} if key else {}


class ServiceClient:
    def __init__(
        self,
        name: str,
        base_url: str,
        http: httpx.AsyncClient,
        policy: RetryPolicy,
        breaker: CircuitBreaker,
        max_concurrency: int,
        metrics: BackendMetrics,
        connect_timeout_s: float = 2.0,
        read_timeout_s: float = 30.0,
        api_key: SecretStr | None = None,
        ready_probe_s: float = 1.0,
        ready_path: str = "/ready",
    ) -> None:
        self.name = name
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self.base_url = base_url
        self.http = http
        self.policy = policy
        self.breaker = breaker
        self.metrics = metrics
        self._slots = asyncio.Semaphore(max_concurrency)
        self._api_key = api_key
        self.ready_probe_s = ready_probe_s
        self.ready_path = ready_path
        self._probe: asyncio.Task[None] | None = None

    def auth_headers(self) -> dict[str, str]:
        return bearer_headers(self._api_key)

    async def close(self) -> None:
        """Stop the readiness probe, if one runs."""
        probe, self._probe = self._probe, None
        if probe is not None and not probe.done():
            probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await probe

    def _failed(self) -> None:
        """Count a failure; an open breaker starts the readiness probe."""
        self.breaker.record_failure()
        if self.breaker.state is BreakerState.OPEN:
            self._start_probe()

    def _start_probe(self) -> None:
        if self.ready_probe_s <= 0 or (self._probe is not None and not self._probe.done()):
            return
        self._probe = asyncio.get_running_loop().create_task(self._probe_ready(), name=f"ready-probe-{self.name}")

    async def _probe_ready(self) -> None:
        """While the breaker is not closed: GET ``ready_path`` every ``ready_probe_s``; a 200
        while open half-opens it, so trial calls go through without waiting out the cool-down."""
        url = f"{self.base_url}{self.ready_path}"
        timeout = httpx.Timeout(max(self.ready_probe_s, 1.0), connect=min(self.connect_timeout_s, 1.0))
        while self.breaker.state is not BreakerState.CLOSED:
            await asyncio.sleep(self.ready_probe_s)
            if not self.breaker.may_half_open_early:
                continue  # half-open (the trials decide), or a trial failed (the cool-down does)
            opened_at = self.breaker.opened_at
            try:
                response = await self.http.get(url, headers=self.auth_headers(), timeout=timeout)
            except httpx.HTTPError as exc:
                logger.debug("%s not ready: %s", url, type(exc).__name__)
                continue
            if response.status_code == 200 and self.breaker.may_half_open_early and self.breaker.opened_at == opened_at:
                logger.info("%s answered 200: letting trial calls through to %s", url, self.name)
                self.breaker.half_open()
                self._set_circuit_metric()

    def _set_circuit_metric(self) -> None:
        self.metrics.circuit_open.labels(service=self.name).set(0 if self.breaker.state is BreakerState.CLOSED else 1)

    async def post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST and return the JSON of a 2xx answer, or raise :class:`EnrichmentCallError`."""
        started = time.monotonic()
        deadline = started + self.policy.deadline_s
        outcome = "error"
        try:
            body = await self._with_retries(path, payload, deadline)
            outcome = "ok"
            return body
        except EnrichmentCallError as exc:
            outcome = exc.code
            raise
        finally:
            self.metrics.enrichment_calls.labels(service=self.name, endpoint=path, outcome=outcome).inc()
            self.metrics.enrichment_call_seconds.labels(service=self.name, endpoint=path).observe(
                time.monotonic() - started
            )
            self._set_circuit_metric()

    async def _with_retries(self, path: str, payload: dict[str, Any], deadline: float) -> dict[str, Any]:
        attempt = 0
        while True:
            attempt += 1
            if not self.breaker.allow():
                raise EnrichmentCallError(
                    self.name,
                    "CIRCUIT_OPEN",
                    f"{self.base_url} failed {self.breaker.failures} times in a row; calls resume "
                    + ("when its /ready answers 200, or " if self.ready_probe_s > 0 else "")
                    + f"in {self.breaker.retry_in():.0f}s at the latest",
                )
            retry_after: float | None = None
            try:
                response = await self._send(path, payload, deadline)
            except RETRYABLE_TRANSPORT as exc:
                self._failed()
                error = EnrichmentCallError(
                    self.name,
                    "TIMEOUT" if isinstance(exc, httpx.TimeoutException) else "SERVICE_UNREACHABLE",
                    f"{self.base_url}{path}: {type(exc).__name__}: {exc or 'no answer'}",
                )
            except httpx.HTTPError as exc:  # an answer that cannot be read (bad encoding, ...)
                self._failed()
                raise EnrichmentCallError(
                    self.name, "BAD_RESPONSE", f"{self.base_url}{path}: {type(exc).__name__}: {exc}"
                ) from exc
            else:
                if response.status_code < 500 or response.status_code == 503:
                    self.breaker.record_success()  # it answered: alive, if busy
                else:
                    self._failed()
                if response.is_success:
                    return self._json(response)
                error = _error_of(self.name, response)
                if response.status_code != 503 or (retry_after := _retry_after(response)) is None:
                    raise error  # a 4xx, a 500, or a 503 that waiting cannot help: never retried
            wait = self.policy.wait_before_retry(attempt, retry_after, deadline - time.monotonic())
            if wait is None:
                raise error
            self.metrics.enrichment_retries.labels(service=self.name).inc()
            logger.info("retrying %s%s in %.2fs after %s", self.name, path, wait, error.code)
            await asyncio.sleep(wait)

    async def _send(self, path: str, payload: dict[str, Any], deadline: float) -> httpx.Response:
        """One attempt, never past the deadline (waiting for a concurrency slot included)."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise httpx.ReadTimeout(f"deadline of {self.policy.deadline_s:.0f}s reached")
        try:
            async with asyncio.timeout(remaining), self._slots:
                left = max(deadline - time.monotonic(), 0.001)
                timeout = httpx.Timeout(min(self.read_timeout_s, left), connect=min(self.connect_timeout_s, left))
                return await self.http.post(
                    f"{self.base_url}{path}", json=payload, headers=self.auth_headers(), timeout=timeout
                )
        except TimeoutError as exc:
            raise httpx.ReadTimeout(f"deadline of {self.policy.deadline_s:.0f}s reached") from exc

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError as exc:
            raise EnrichmentCallError(self.name, "BAD_RESPONSE", f"not JSON: {exc}", response.status_code) from exc
        if not isinstance(body, dict):
            raise EnrichmentCallError(self.name, "BAD_RESPONSE", "expected a JSON object", response.status_code)
        return body
