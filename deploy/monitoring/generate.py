"""Write the Grafana dashboard and the Prometheus alert rules from one list of services.

Every service names its metrics ``<prefix>_<metric>`` (docs/runtime.md), so a panel or a
rule is written once and spelled out per service; the output names real metrics only
(tests/deploy check them against each service's live ``/metrics``). Run after changing a
panel or a rule: ``python deploy/monitoring/generate.py``; a test fails while the
committed files differ from what this writes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DASHBOARD = HERE / "grafana" / "dashboards" / "fleet.json"
ALERTS = HERE / "alerts.yml"

# Metric prefix -> the service in words. The backend has request metrics only.
MODEL_SERVICES = {
    "detector": "detector",
    "florence": "Florence-2",
    "clip": "CLIP",
    "enrichment_heavy": "enrichment heavy",
    "enrichment_light": "enrichment light",
}
SERVICES = {**MODEL_SERVICES, "backend": "backend"}

# Thresholds of the alert rules (the MLOps specification's, adapted to each service).
P95_LATENCY_S = 2.0
ERROR_RATIO = 0.05
MEMORY_NEAR_BUDGET = 0.9


def _panel(number: int, title: str, targets: list[tuple[str, str]], unit: str, x: int, y: int) -> dict[str, Any]:
    return {
        "id": number,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "prometheus"},
        "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
        "targets": [
            {"refId": chr(65 + i), "expr": expr, "legendFormat": legend} for i, (expr, legend) in enumerate(targets)
        ],
    }


def panels() -> list[dict[str, Any]]:
    def each(template: str, services: dict[str, str] = SERVICES) -> list[tuple[str, str]]:
        return [(template.format(p=p), name) for p, name in services.items()]

    specs: list[tuple[str, list[tuple[str, str]], str]] = [
        ("Requests per second", each("sum(rate({p}_inference_requests_total[5m]))"), "reqps"),
        (
            "p95 latency",
            each("histogram_quantile(0.95, sum by (le) (rate({p}_inference_latency_seconds_bucket[5m])))"),
            "s",
        ),
        (
            "p50 latency",
            each("histogram_quantile(0.50, sum by (le) (rate({p}_inference_latency_seconds_bucket[5m])))"),
            "s",
        ),
        (
            "Error ratio (5xx)",
            each(
                'sum(rate({p}_inference_requests_total{{status=~"5.."}}[5m]))'
                " / clamp_min(sum(rate({p}_inference_requests_total[5m])), 1e-9)"
            ),
            "percentunit",
        ),
        ("Requests in flight", each("{p}_requests_in_flight"), "short"),
        ("Loaded models", each("sum({p}_model_loaded)", MODEL_SERVICES), "short"),
        (
            "Model memory / budget",
            each("{p}_model_memory_used_mb / clamp_min({p}_model_memory_budget_mb, 1)", MODEL_SERVICES),
            "percentunit",
        ),
        ("GPU memory held (GB)", each("{p}_gpu_memory_used_gb", MODEL_SERVICES), "decgbytes"),
        (
            "Mean batch size",
            each(
                "sum(rate({p}_model_batch_size_sum[5m])) / clamp_min(sum(rate({p}_model_batch_size_count[5m])), 1e-9)",
                MODEL_SERVICES,
            ),
            "short",
        ),
        ("Model load failures (1h)", each("sum(increase({p}_model_load_failures_total[1h]))", MODEL_SERVICES), "short"),
        (
            "Backend: circuit open per service",
            [("max by (service) (backend_enrichment_circuit_open)", "{{service}}")],
            "short",
        ),
        (
            "Backend: pipeline stage p95",
            [
                (
                    "histogram_quantile(0.95, sum by (le, stage) (rate(backend_pipeline_stage_seconds_bucket[5m])))",
                    "{{stage}}",
                )
            ],
            "s",
        ),
        (
            "Detector: drift detected and active-learning samples (1h)",
            [
                ("sum by (version) (increase(data_drift_detected_total[1h]))", "drift {{version}}"),
                ("sum by (version) (increase(active_learning_samples_total[1h]))", "samples {{version}}"),
            ],
            "short",
        ),
        (
            "Detector: requests per version",
            [("sum by (version, status) (rate(object_detection_requests_total[5m]))", "{{version}} {{status}}")],
            "reqps",
        ),
        (
            "LLM: tokens per second",
            [
                ("rate(llamacpp:prompt_tokens_total[5m])", "prompt"),
                ("rate(llamacpp:tokens_predicted_total[5m])", "generated"),
            ],
            "short",
        ),
        (
            "LLM: requests processing and deferred",
            [("llamacpp:requests_processing", "processing"), ("llamacpp:requests_deferred", "deferred")],
            "short",
        ),
    ]
    return [
        _panel(i + 1, title, targets, unit, (i % 2) * 12, (i // 2) * 8)
        for i, (title, targets, unit) in enumerate(specs)
    ]


def dashboard() -> dict[str, Any]:
    return {
        "uid": "homesec-fleet",
        "title": "Home-security AI fleet",
        "tags": ["homesec"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "panels": panels(),
    }


def alert_rules() -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for p, name in SERVICES.items():
        rules += [
            {
                "alert": "HighP95Latency",
                "expr": f"histogram_quantile(0.95, sum by (le) (rate({p}_inference_latency_seconds_bucket[5m])))"
                f" > {P95_LATENCY_S}",
                "for": "10m",
                "labels": {"severity": "warning", "service": p},
                "annotations": {"summary": f"{name}: p95 latency above {P95_LATENCY_S:g} s for 10 minutes"},
            },
            {
                "alert": "HighErrorRate",
                "expr": f'sum(rate({p}_inference_requests_total{{status=~"5.."}}[5m]))'
                f" / clamp_min(sum(rate({p}_inference_requests_total[5m])), 1e-9) > {ERROR_RATIO}",
                "for": "5m",
                "labels": {"severity": "critical", "service": p},
                "annotations": {"summary": f"{name}: more than {ERROR_RATIO:.0%} of requests fail with 5xx"},
            },
        ]
    for p, name in MODEL_SERVICES.items():
        rules += [
            {
                "alert": "ModelLoadFailures",
                "expr": f"increase({p}_model_load_failures_total[15m]) > 0",
                "labels": {"severity": "critical", "service": p},
                "annotations": {"summary": f"{name}: model {{{{ $labels.model }}}} failed to load (see /health)"},
            },
            {
                "alert": "ModelMemoryNearBudget",
                "expr": f"{p}_model_memory_used_mb / clamp_min({p}_model_memory_budget_mb, 1) > {MEMORY_NEAR_BUDGET}",
                "for": "15m",
                "labels": {"severity": "warning", "service": p},
                "annotations": {"summary": f"{name}: models hold over {MEMORY_NEAR_BUDGET:.0%} of the memory budget"},
            },
        ]
    rules += [
        {
            "alert": "CircuitBreakerOpen",
            "expr": "max by (service) (backend_enrichment_circuit_open) > 0",
            "for": "2m",
            "labels": {"severity": "critical", "service": "backend"},
            "annotations": {"summary": "backend: calls to {{ $labels.service }} are cut off (its circuit is open)"},
        },
        {
            "alert": "DataDriftDetected",
            "expr": "increase(data_drift_detected_total[1h]) > 0",
            "labels": {"severity": "warning", "service": "detector"},
            "annotations": {
                "summary": "detector {{ $labels.version }}: inputs drifted from the reference (GET /drift/status)"
            },
        },
        {
            "alert": "LlmRequestsDeferred",
            "expr": "llamacpp:requests_deferred > 0",
            "for": "10m",
            "labels": {"severity": "warning", "service": "llm"},
            "annotations": {
                "summary": "llm: requests wait for a free slot for 10 minutes (raise LLM_PARALLEL or add a GPU)"
            },
        },
    ]
    return rules


def alerts_yaml() -> str:
    import yaml

    header = "# Generated by deploy/monitoring/generate.py; edit that, then run it.\n"
    rules = {"groups": [{"name": "homesec-fleet", "rules": alert_rules()}]}
    return header + yaml.safe_dump(rules, sort_keys=False, width=200)


def main() -> int:
    DASHBOARD.parent.mkdir(parents=True, exist_ok=True)
    DASHBOARD.write_text(json.dumps(dashboard(), indent=2) + "\n", encoding="utf-8")
    ALERTS.write_text(alerts_yaml(), encoding="utf-8")
    print(f"wrote {DASHBOARD.relative_to(HERE.parent.parent)} and {ALERTS.relative_to(HERE.parent.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
