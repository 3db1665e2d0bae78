"""The backend's Prometheus metrics (prefix ``backend``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from ai.runtime.metrics import LATENCY_BUCKETS, RequestMetrics


class BackendMetrics(RequestMetrics):
    def __init__(self, prefix: str = "backend") -> None:
        super().__init__(prefix)
        r = self.registry
        self.enrichment_calls = Counter(
            f"{prefix}_enrichment_calls_total",
            "Calls to enrichment services by outcome (ok or error code)",
            ["service", "endpoint", "outcome"],
            registry=r,
        )
        self.enrichment_call_seconds = Histogram(
            f"{prefix}_enrichment_call_seconds",
            "Enrichment call time, retries included",
            ["service", "endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.enrichment_retries = Counter(
            f"{prefix}_enrichment_retries_total", "Retried enrichment calls", ["service"], registry=r
        )
        self.circuit_open = Gauge(
            f"{prefix}_enrichment_circuit_open",
            "1 while a service's circuit breaker is open or half-open",
            ["service"],
            registry=r,
        )
        self.enrichment_results = Counter(
            f"{prefix}_enrichment_results_total", "Merged enrichment results by status", ["status"], registry=r
        )
