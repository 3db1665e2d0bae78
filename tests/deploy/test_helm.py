"""The Helm chart renders offline (Helm's own Go library through helm-python-sdk, no
binary or cluster) with its default values and the example values files; every
manifest validates against the Kubernetes schemas (kubernetes-validate, strict); the
values schema refuses bad values before anything renders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

helm = pytest.importorskip("helm_python", reason="helm-python-sdk is a dev dependency (make venv installs it)")
kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="kubernetes-validate is a dev dependency")

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "homesec-fleet"
EXAMPLES = sorted((ROOT / "deploy" / "helm" / "examples").glob("*.yaml"))
KUBERNETES = "1.32.0"


def render(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    chart = helm.Chart.load(str(CHART))
    chart.validate_schema(values or {})
    rendered = chart.render(values or {}, name="fleet", namespace="cameras", is_install=True)
    return [
        doc
        for path, text in sorted(rendered.items())
        if not path.endswith("NOTES.txt")
        for doc in yaml.safe_load_all(text)
        if doc
    ]


def of_kind(manifests: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


@pytest.mark.parametrize("values_file", [None, *EXAMPLES], ids=["defaults", *(p.stem for p in EXAMPLES)])
def test_the_chart_renders_and_every_manifest_is_valid_kubernetes(values_file: Path | None) -> None:
    values = yaml.safe_load(values_file.read_text(encoding="utf-8")) if values_file else None
    manifests = render(values)
    for manifest in manifests:
        kubernetes_validate.validate(manifest, KUBERNETES, strict=True)
    assert len(of_kind(manifests, "Deployment")) == 7 and len(of_kind(manifests, "Service")) == 7


def test_each_service_gets_probes_gpus_its_port_and_the_read_only_model_store() -> None:
    deployments = of_kind(render(), "Deployment")
    ports = {"ai-yolo26": 8095, "ai-florence": 8092, "ai-clip": 8093, "ai-llm": 8091}
    ports |= {"ai-enrichment": 8094, "ai-enrichment-light": 8096, "backend": 8000}
    assert set(deployments) == set(ports)
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        [container] = pod["containers"]
        assert container["ports"][0]["containerPort"] == ports[name]
        assert container["livenessProbe"]["httpGet"]["path"] == "/health"
        ready = container["readinessProbe"]["httpGet"]["path"]
        assert ready == ("/health" if name == "ai-llm" else "/ready"), name
        gpus = container["resources"]["limits"].get("nvidia.com/gpu")
        assert (gpus == 1) is (name != "backend"), name
        mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
        if name != "backend":
            assert mounts["/models"]["readOnly"] is True
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert "podAntiAffinity" in pod["affinity"]


def test_the_backend_mounts_the_model_store_writable_only_when_asked() -> None:
    def backend_mounts(values: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
        [container] = of_kind(render(values), "Deployment")["backend"]["spec"]["template"]["spec"]["containers"]
        return {m["mountPath"]: m for m in container["volumeMounts"]}

    assert "/models" not in backend_mounts(None)
    writable = backend_mounts(
        {"modelStore": {"existingClaim": "homesec-models", "mountPath": "/models", "backendWritable": True}}
    )
    assert not writable["/models"].get("readOnly", False)


def test_the_backend_reaches_every_service_by_its_service_name() -> None:
    manifests = render()
    env = of_kind(manifests, "ConfigMap")["fleet-env"]["data"]
    services = of_kind(manifests, "Service")
    for variable, name in (
        ("DETECTOR_URL", "ai-yolo26"),
        ("LLM_URL", "ai-llm"),
        ("ENRICHMENT_LIGHT_URL", "ai-enrichment-light"),
    ):
        port = services[name]["spec"]["ports"][0]["port"]
        assert env[variable] == f"http://{name}:{port}"
    assert env["ENRICHMENT_POSE_SERVICE"] == "light" and env["ENRICHMENT_VEHICLE_SERVICE"] == "heavy"


def test_scale_out_adds_autoscalers_on_requests_in_flight_and_keeps_secrets_in_a_secret() -> None:
    values = yaml.safe_load((ROOT / "deploy" / "helm" / "examples" / "scale-out.yaml").read_text(encoding="utf-8"))
    manifests = render(values)
    autoscalers = of_kind(manifests, "HorizontalPodAutoscaler")
    assert set(autoscalers) == {"ai-yolo26", "ai-enrichment-light", "backend"}
    metric = autoscalers["ai-yolo26"]["spec"]["metrics"][0]["pods"]["metric"]["name"]
    assert metric == "detector_requests_in_flight"
    budgets = of_kind(manifests, "PodDisruptionBudget")
    assert budgets["ai-yolo26"]["spec"] == {
        "minAvailable": 1,
        "selector": budgets["ai-yolo26"]["spec"]["selector"],
    }
    assert budgets["ai-clip"]["spec"]["maxUnavailable"] == 1, "one replica: drains are not blocked"
    secret = of_kind(manifests, "Secret")["fleet-secrets"]["stringData"]
    assert secret["DATABASE_URL"].startswith("postgresql+psycopg://") and "API_KEYS" in secret
    assert "DATABASE_URL" not in of_kind(manifests, "ConfigMap")["fleet-env"]["data"]


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"services": {"backend": {"replicas": 3}}}, "databaseUrl"),
        ({"services": {"detector": {"gpus": "two"}}}, "gpus"),
        ({"services": {"detector": {"port": 70000}}}, "port"),
        ({"services": {"clip": {"replicas": -1}}}, "replicas"),
        ({"services": {"florence": {"readinessPath": "/healthz"}}}, "readinessPath"),
        ({"env": {"log_level": "INFO"}}, "log_level"),
        ({"env": {"LOG_LEVEL": 3}}, "LOG_LEVEL"),
        ({"routing": {"ENRICHMENT_POSE_SERVICE": "gpu1"}}, "ENRICHMENT_POSE_SERVICE"),
        ({"secrets": {"databaseUrl": "mysql://x"}}, "databaseUrl"),
        ({"services": {"detector": {"name": "AI_Detector"}}}, "name"),
        ({"services": {"unknown": {"enabled": True}}}, "unknown"),
    ],
)
def test_bad_values_are_refused_by_the_schema(values: dict[str, Any], complaint: str) -> None:
    chart = helm.Chart.load(str(CHART))
    with pytest.raises(helm.HelmError) as refused:
        chart.validate_schema(values)
    assert complaint in str(refused.value)


def test_helm_lint_finds_no_warning_or_error() -> None:
    report = helm.lint(str(CHART), strict=True, kube_version=f"v{KUBERNETES}")
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert not problems and not report["errors"], report
