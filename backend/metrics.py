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
        self.pipeline_stage_seconds = Histogram(
            f"{prefix}_pipeline_stage_seconds",
            "Time of each stage of /api/analyze (detector, enrichment, caption, entities, risk, store)",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.pipeline_stage_failures = Counter(
            f"{prefix}_pipeline_stage_failures_total",
            "Stages of /api/analyze that did not answer, by stage and error code",
            ["stage", "code"],
            registry=r,
        )
        self.pipeline_events = Counter(
            f"{prefix}_pipeline_events_total", "Events stored by /api/analyze, by status", ["status"], registry=r
        )
        self.llm_tokens = Counter(
            f"{prefix}_llm_tokens_total", "Tokens the LLM read (prompt) and wrote (completion)", ["kind"], registry=r
        )
        self.risk_analyses = Counter(
            f"{prefix}_risk_analyses_total",
            "Risk analyses by outcome: ok, repaired (valid after the repair retry), failed",
            ["outcome"],
            registry=r,
        )
