"""Monitoring: the dashboard and the alert rules are what the generator writes, their
expressions parse as far as a YAML and expression check can tell, and every metric they
name is exported by a live service of the fleet (each service's real /metrics, the
LLM's from llama-server itself). Prometheus scrapes each service at its compose name."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import httpx
import pytest
import yaml

from tests.pipeline.conftest import backend

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deploy" / "monitoring"
FUNCTIONS = {"sum", "rate", "increase", "max", "min", "avg", "by", "without", "histogram_quantile", "clamp_min"}
FUNCTIONS |= {"le", "e"}


def generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("generate", MONITORING / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def expressions() -> list[str]:
    dashboard = json.loads((MONITORING / "grafana" / "dashboards" / "fleet.json").read_text(encoding="utf-8"))
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text(encoding="utf-8"))
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    return exprs + [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def metric_names(expr: str) -> set[str]:
    """The metric names in a PromQL expression: label matchers, ranges, grouping clauses
    and numbers removed, functions and keywords dropped."""
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\b(by|without) \([^)]*\)", " ", expr)
    names = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", bare))
    return {n for n in names if n not in FUNCTIONS}


def balanced(expr: str) -> bool:
    depth = 0
    for char in expr:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def exported(text: str) -> set[str]:
    """Every series name a /metrics page can hold: each family with its sample suffixes."""
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            name, kind = line.split()[2:4]
            names.add(name)
            if kind == "counter":
                names |= {f"{name}_total", name.removesuffix("_total")}
            if kind == "histogram":
                names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    return names


def test_the_committed_dashboard_and_rules_are_what_the_generator_writes() -> None:
    module = generator()
    on_disk = json.loads((MONITORING / "grafana" / "dashboards" / "fleet.json").read_text(encoding="utf-8"))
    assert on_disk == module.dashboard(), "run python deploy/monitoring/generate.py"
    assert (MONITORING / "alerts.yml").read_text(encoding="utf-8") == module.alerts_yaml()


def test_every_expression_is_balanced_and_every_rule_is_complete() -> None:
    for expr in expressions():
        assert balanced(expr) and metric_names(expr), expr
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text(encoding="utf-8"))["groups"][0]["rules"]
    alerts = {rule["alert"] for rule in rules}
    assert {"HighP95Latency", "HighErrorRate", "ModelLoadFailures", "ModelMemoryNearBudget"} <= alerts
    assert {"CircuitBreakerOpen", "DataDriftDetected"} <= alerts
    for rule in rules:
        assert rule["labels"]["severity"] in ("warning", "critical") and rule["annotations"]["summary"]


def test_prometheus_scrapes_every_service_at_its_compose_name() -> None:
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text(encoding="utf-8"))
    targets = {t for job in config["scrape_configs"] for c in job["static_configs"] for t in c["targets"]}
    compose = yaml.safe_load((ROOT / "docker-compose.prod.yml").read_text(encoding="utf-8"))["services"]
    ports = {"ai-yolo26": 8095, "ai-florence": 8092, "ai-clip": 8093, "ai-llm": 8091, "ai-enrichment": 8094}
    ports |= {"ai-enrichment-light": 8096, "backend": 8000}
    assert targets == {f"{name}:{port}" for name, port in ports.items()} and set(ports) <= set(compose)
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]


@pytest.mark.slow
def test_every_metric_the_dashboard_and_rules_name_is_exported_by_a_live_service(
    fleet: dict[str, str],
    tmp_path: Path,
) -> None:
    pages = [httpx.get(f"{url}/metrics", timeout=30).text for url in fleet.values()]
    with backend(fleet, tmp_path) as url:
        pages.append(httpx.get(f"{url}/metrics", timeout=30).text)
    available = set().union(*(exported(page) for page in pages))
    assert "llamacpp:requests_processing" in available, "llama-server's own metrics are read"
    named = set().union(*(metric_names(expr) for expr in expressions()))
    missing = named - available
    assert not missing, f"named but exported by no service: {sorted(missing)}"
