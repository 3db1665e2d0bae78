"""One enrichment service as the backend calls it: concurrency limit, circuit breaker
and the retry policy around every request, in one place."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx

from backend.enrichment_client.errors import EnrichmentCallError
from backend.enrichment_client.policy import BreakerState, CircuitBreaker, RetryPolicy
from backend.metrics import BackendMetrics

logger = logging.getLogger(__name__)

RETRYABLE_TRANSPORT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.PoolTimeout,
    httpx.RemoteProtocolError,
)


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
        return EnrichmentCallError(service, str(error["code"]), str(error["message"]), response.status_code)
    except (ValueError, KeyError, TypeError):
        text = response.text[:200].replace("\n", " ")
        return EnrichmentCallError(
            service, "BAD_RESPONSE", f"HTTP {response.status_code}: {text}", response.status_code
        )


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
            self.metrics.circuit_open.labels(service=self.name).set(
                0 if self.breaker.state is BreakerState.CLOSED else 1
            )

    async def _with_retries(self, path: str, payload: dict[str, Any], deadline: float) -> dict[str, Any]:
        attempt = 0
        while True:
            attempt += 1
            if not self.breaker.allow():
                raise EnrichmentCallError(
                    self.name,
                    "CIRCUIT_OPEN",
                    f"{self.base_url} failed {self.breaker.failures} times in a row; calls resume in "
                    f"{self.breaker.retry_in():.0f}s",
                )
            retry_after: float | None = None
            try:
                response = await self._send(path, payload, deadline)
            except RETRYABLE_TRANSPORT as exc:
                self.breaker.record_failure()
                error = EnrichmentCallError(
                    self.name,
                    "TIMEOUT" if isinstance(exc, httpx.TimeoutException) else "SERVICE_UNREACHABLE",
                    f"{self.base_url}{path}: {type(exc).__name__}: {exc or 'no answer'}",
                )
            else:
                if response.status_code < 500 or response.status_code == 503:
                    self.breaker.record_success()  # it answered: alive, if busy
                else:
                    self.breaker.record_failure()
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
                return await self.http.post(f"{self.base_url}{path}", json=payload, timeout=timeout)
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
