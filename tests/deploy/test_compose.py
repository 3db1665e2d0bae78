"""The compose files: valid against the compose specification's schema, and right in
what an operator relies on: each service's GPU variable is its own, the routing reaches
both enrichment roles and the backend from one place, ports and health checks match the
services, preloads name models the service hosts, only the backend is published, and
every variable the files use is explained in .env.example."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from ai.clip.settings import ClipSettings
from ai.contracts.enrichment_catalog import enrichment_entries
from ai.detector.settings import DetectorSettings
from ai.florence.settings import FlorenceSettings
from ai.runtime.catalog import entries_for_service
from backend.settings import BackendSettings
from tests.test_env_example import documented

ROOT = Path(__file__).resolve().parents[2]
PROD, DEV = ROOT / "docker-compose.prod.yml", ROOT / "docker-compose.dev.yml"
# compose service -> (module, settings with its default port, GPU variable in prod)
MODEL_SERVICES = {
    "ai-yolo26": ("ai.detector", DetectorSettings, "GPU_YOLO26"),
    "ai-florence": ("ai.florence", FlorenceSettings, "GPU_FLORENCE"),
    "ai-clip": ("ai.clip", ClipSettings, "GPU_CLIP"),
    "ai-enrichment": ("ai.enrichment", None, "GPU_ENRICHMENT"),
    "ai-enrichment-light": ("ai.enrichment", None, "GPU_ENRICHMENT_LIGHT"),
}
PORTS = {"ai-yolo26": 8095, "ai-florence": 8092, "ai-clip": 8093, "ai-llm": 8091, "ai-enrichment": 8094}
PORTS |= {"ai-enrichment-light": 8096, "backend": 8000}
VARIABLE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(?::?[-?][^}]*)?\}")


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", [PROD, DEV], ids=["prod", "dev"])
def test_the_file_validates_against_the_compose_specification(path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_service_takes_the_gpu_its_own_variable_names() -> None:
    services = load(PROD)["services"]
    expected = {name: gpu for name, (_m, _s, gpu) in MODEL_SERVICES.items()} | {"ai-llm": "GPU_LLM"}
    found = {}
    for name, service in services.items():
        devices = service.get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices", [])
        for device in devices:
            [ids] = device["device_ids"]
            found[name] = VARIABLE.fullmatch(ids).group(1)  # type: ignore[union-attr]
    assert found == expected
    assert len(set(found.values())) == len(found), "no two services share a GPU variable"


def test_routing_comes_from_one_place_and_reaches_both_roles_and_the_backend() -> None:
    text = PROD.read_text(encoding="utf-8")
    routing = load(PROD)["x-routing"]
    assert set(routing) == {e.routing_variable for e in enrichment_entries().values()}
    for name, entry in enrichment_entries().items():
        assert routing[entry.routing_variable] == f"${{{entry.routing_variable}:-{entry.role}}}", name
    for service in ("ai-enrichment", "ai-enrichment-light", "backend"):
        block = text.split(f"\n  {service}:\n", 1)[1].split("\n  ai-", 1)[0]
        assert "<<: *routing" in block, f"{service} does not get the routing anchor"
        assert set(routing) <= set(load(PROD)["services"][service]["environment"])


@pytest.mark.parametrize("path", [PROD, DEV], ids=["prod", "dev"])
def test_ports_and_health_checks_match_the_services(path: Path) -> None:
    services = load(path)["services"]
    for name, port in PORTS.items():
        service = services[name]
        env = service["environment"]
        declared = env.get("LLAMA_ARG_PORT") if name == "ai-llm" else env["PORT"]
        assert int(declared) == port, name
        assert f"127.0.0.1:{port}/health" in " ".join(service["healthcheck"]["test"]), name
        assert service["healthcheck"]["start_period"], name
    for name, (module, settings, _gpu) in MODEL_SERVICES.items():
        assert module in " ".join(services[name]["command"]), name
        if settings is not None:
            assert settings.model_fields["port"].default == PORTS[name], name
    assert BackendSettings.model_fields["port"].default == 8000


def test_health_check_paths_exist_on_the_services() -> None:
    from ai.clip.service import ClipService
    from ai.detector.service import DetectorService
    from ai.enrichment.service import EnrichmentService
    from ai.enrichment.settings import EnrichmentSettings
    from ai.florence.service import FlorenceService
    from ai.runtime.model_service import create_service_app
    from backend.app import create_backend_app

    apps = [
        create_service_app(DetectorService(DetectorSettings())),
        create_service_app(FlorenceService(FlorenceSettings())),
        create_service_app(ClipService(ClipSettings())),
        create_service_app(EnrichmentService(EnrichmentSettings(ENRICHMENT_ROLE="heavy"))),
        create_backend_app(BackendSettings()),
    ]
    for app in apps:
        paths = set(app.openapi()["paths"])
        assert {"/health", "/ready", "/metrics"} <= paths, app.title


def test_the_backend_calls_each_service_by_its_compose_name_and_port() -> None:
    for path in (PROD, DEV):
        env = load(path)["services"]["backend"]["environment"]
        urls = {key: env[key] for key in env if key.endswith("_URL") and key != "DATABASE_URL"}
        targets = {"DETECTOR_URL": "ai-yolo26", "FLORENCE_URL": "ai-florence", "CLIP_URL": "ai-clip"}
        targets |= {
            "LLM_URL": "ai-llm",
            "ENRICHMENT_URL": "ai-enrichment",
            "ENRICHMENT_LIGHT_URL": "ai-enrichment-light",
        }
        assert urls == {key: f"http://{name}:{PORTS[name]}" for key, name in targets.items()}
        defaults = BackendSettings.model_fields
        for key, name in targets.items():  # the settings' defaults are the compose names too
            field = next(f for f in defaults.values() if f.validation_alias == key)
            assert field.default == f"http://{name}:{PORTS[name]}", key


def test_preload_defaults_name_models_the_service_really_hosts() -> None:
    services = load(PROD)["services"]
    for name, catalog in (("ai-yolo26", "detector"), ("ai-florence", "florence"), ("ai-clip", "clip")):
        preload = services[name]["environment"]["PRELOAD_MODELS"].split(",")
        assert preload and set(preload) <= set(entries_for_service(catalog)), name
    roles = {n: e.role for n, e in enrichment_entries().items() if e.family}
    for name, role in (("ai-enrichment", "heavy"), ("ai-enrichment-light", "light")):
        value = services[name]["environment"][f"ENRICHMENT_{role.upper()}_PRELOAD_MODELS"]
        preload = VARIABLE.fullmatch(value).group(0).split(":-", 1)[1].rstrip("}").split(",")  # type: ignore[union-attr]
        assert preload and all(roles[m] == role for m in preload), (name, preload)


def test_only_the_backend_is_published_in_production_and_dev_binds_loopback() -> None:
    prod = load(PROD)["services"]
    published = {name for name, s in prod.items() if s.get("ports") and not s.get("profiles")}
    assert published == {"backend"}
    for name, service in load(DEV)["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)
        assert "deploy" not in service, f"{name}: the dev file reserves no GPU"


def test_the_model_store_is_read_only_and_tensorrt_caches_have_their_own_volumes() -> None:
    services = load(PROD)["services"]
    for name in (*MODEL_SERVICES, "ai-llm"):
        volumes = services[name]["volumes"]
        assert any(v.endswith(":/models:ro") for v in volumes), name
    caches = {
        name: next(v.split(":")[0] for v in services[name]["volumes"] if v.endswith(":/cache/tensorrt"))
        for name in ("ai-yolo26", "ai-enrichment", "ai-enrichment-light")
    }
    assert len(set(caches.values())) == 3 and set(caches.values()) <= set(load(PROD)["volumes"])


@pytest.mark.parametrize("path", [PROD, DEV], ids=["prod", "dev"])
def test_every_variable_the_file_uses_is_explained_in_env_example(path: Path) -> None:
    used = set(VARIABLE.findall(path.read_text(encoding="utf-8")))
    missing = used - documented()
    assert not missing, f"add to .env.example: {sorted(missing)}"
