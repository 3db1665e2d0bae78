"""Prometheus metrics of one service, in its own registry and under its own prefix.

One naming scheme everywhere: ``<prefix>_<metric>``, where the prefix names the
service (``enrichment_light``, ``enrichment_heavy``, ``detector``, ``backend``).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
LOAD_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
BATCH_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64, 128, 256)
QUEUE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class RequestMetrics:
    """Per-request metrics every HTTP service of the fleet has."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.registry = CollectorRegistry()
        r = self.registry
        p = prefix
        self.requests = Counter(
            f"{p}_inference_requests_total", "Requests by endpoint and HTTP status", ["endpoint", "status"], registry=r
        )
        self.latency = Histogram(
            f"{p}_inference_latency_seconds",
            "Request latency by endpoint",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge(f"{p}_requests_in_flight", "Requests being served now", registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class ServiceMetrics(RequestMetrics):
    """Request metrics plus the model manager's and memory metrics of a model service."""

    def __init__(self, prefix: str) -> None:
        super().__init__(prefix)
        r = self.registry
        p = prefix
        self.gpu_memory_used_gb = Gauge(f"{p}_gpu_memory_used_gb", "GPU memory this process holds", registry=r)
        self.model_loaded = Gauge(f"{p}_model_loaded", "1 when the model is loaded", ["model"], registry=r)
        self.model_loads = Counter(f"{p}_model_loads_total", "Successful model loads", ["model"], registry=r)
        self.model_load_failures = Counter(
            f"{p}_model_load_failures_total", "Failed model loads by reason", ["model", "reason"], registry=r
        )
        self.model_unloads = Counter(
            f"{p}_model_unloads_total",
            "Unloads by reason (evicted, idle, requested, oom)",
            ["model", "reason"],
            registry=r,
        )
        self.model_load_seconds = Histogram(
            f"{p}_model_load_duration_seconds", "Model load time", ["model"], buckets=LOAD_BUCKETS, registry=r
        )
        self.model_memory_mb = Gauge(
            f"{p}_model_memory_mb", "Memory charged to each loaded model", ["model"], registry=r
        )
        self.memory_used_mb = Gauge(f"{p}_model_memory_used_mb", "Memory charged to loaded models", registry=r)
        self.memory_budget_mb = Gauge(f"{p}_model_memory_budget_mb", "Model memory budget", registry=r)
        self.model_inference_seconds = Histogram(
            f"{p}_model_inference_seconds",
            "Time of each forward pass (a whole batch)",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.model_inferences = Counter(
            f"{p}_model_inferences_total",
            "Inputs run through the model (Triton's inference count)",
            ["model"],
            registry=r,
        )
        self.model_executions = Counter(
            f"{p}_model_executions_total",
            "Forward passes (Triton's execution count); inferences / executions is the mean batch size",
            ["model"],
            registry=r,
        )
        self.model_batch_size = Histogram(
            f"{p}_model_batch_size", "Inputs per forward pass", ["model"], buckets=BATCH_BUCKETS, registry=r
        )
        self.model_queue_delay_seconds = Histogram(
            f"{p}_model_queue_delay_seconds",
            "Time a request's inputs waited for their forward pass to start",
            ["model"],
            buckets=QUEUE_BUCKETS,
            registry=r,
        )
        self.model_queued_inputs = Gauge(
            f"{p}_model_queued_inputs", "Inputs waiting for a forward pass", ["model"], registry=r
        )
        self.pixels_in_flight = Gauge(
            f"{p}_request_pixels_in_flight", "Decoded image pixels held by requests now", registry=r
        )
        self.admission_refusals = Counter(
            f"{p}_admission_refusals_total", "Requests refused because images in flight filled the budget", registry=r
        )
        self.model_state_transitions = Counter(
            f"{p}_model_state_transitions_total", "Model state changes", ["model", "state"], registry=r
        )
