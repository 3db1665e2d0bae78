"""Roles, routing, on-demand loading within a budget, preload, profiling, per-model errors."""

from __future__ import annotations

import concurrent.futures
import random
import shutil
import threading
from pathlib import Path

import httpx
import pytest

from tests.enrichment.conftest import enrichment_server
from tests.support.photos import BUS_PERSON_BOX, bus_b64

PERSON = {"image": bus_b64(), "bbox": BUS_PERSON_BOX}


def test_routing_symmetry_pose_moved_to_heavy(demo_models: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENRICHMENT_POSE_SERVICE", "heavy")
    with enrichment_server("light", demo_models) as light, enrichment_server("heavy", demo_models) as heavy:
        served = httpx.post(f"{heavy.url}/pose-analyze", json=PERSON, timeout=120)
        refused = httpx.post(f"{light.url}/pose-analyze", json=PERSON, timeout=30)
        load_refused = httpx.post(f"{light.url}/models/pose_estimator/load", timeout=30)
        heavy_health = httpx.get(f"{heavy.url}/health").json()
        light_health = httpx.get(f"{light.url}/health").json()
    assert served.status_code == 200, served.text
    assert len(served.json()["keypoints"]) == 17
    for response in (refused, load_refused):
        assert response.status_code == 409
        error = response.json()["error"]
        assert error["code"] == "MODEL_NOT_HOSTED"
        assert "ENRICHMENT_POSE_SERVICE" in error["message"]
        assert error["details"]["variable"] == "ENRICHMENT_POSE_SERVICE"
    assert "pose_estimator" in heavy_health["hosted_models"]
    assert "pose_estimator" not in light_health["hosted_models"]
    assert heavy_health["role"] == "heavy" and light_health["role"] == "light"


def test_heavy_role_answers_409_for_light_models_by_default(demo_models: Path) -> None:
    with enrichment_server("heavy", demo_models) as heavy:
        response = httpx.post(f"{heavy.url}/person-reid", json=PERSON, timeout=30)
        health = httpx.get(f"{heavy.url}/health").json()
    assert response.status_code == 409
    assert "ENRICHMENT_REID_SERVICE" in response.json()["error"]["message"]
    assert health["service"] == "ai-enrichment"


def test_fresh_instance_loads_nothing_and_first_reid_loads_only_reid(demo_models: Path) -> None:
    with enrichment_server("light", demo_models) as light, httpx.Client(base_url=light.url, timeout=120) as client:
        before = client.get("/models/status").json()
        assert before["loaded_models"] == [] and before["vram_used_mb"] == 0
        assert client.post("/person-reid", json=PERSON).status_code == 200
        after = client.get("/models/status").json()
        health = client.get("/health").json()
    assert [m["name"] for m in after["loaded_models"]] == ["person_reid"]
    states = {m["name"]: m["state"] for m in after["registered_models"]}
    assert states == {
        "threat_detector": "unloaded",
        "pose_estimator": "unloaded",
        "person_reid": "loaded",
        "pet_classifier": "unloaded",
        "depth_estimator": "unloaded",
    }
    assert health["models_loaded"]["person_reid"] is True
    assert all(health["demo_weights"].values()), "demo weights must be labelled as such"


def test_budget_too_small_for_all_five_is_kept_and_nothing_fails_with_500(demo_models: Path) -> None:
    endpoints = {
        "/pose-analyze": PERSON,
        "/threat-detect": PERSON,
        "/person-reid": PERSON,
        "/pet-classify": PERSON,
        "/depth-estimate": PERSON,
        "/object-distance": {**PERSON, "method": "median"},
    }
    budget = 600.0  # the five estimates add up to 1150 MB
    rng = random.Random(11)
    calls = [rng.choice(list(endpoints)) for _ in range(30)]
    peak = {"used": 0.0}
    stop = threading.Event()
    with enrichment_server("light", demo_models, VRAM_BUDGET_MB=budget, MODEL_LOAD_WAIT_SECONDS=2) as light:

        def watch() -> None:
            with httpx.Client(base_url=light.url, timeout=30) as watcher:
                while not stop.is_set():
                    peak["used"] = max(peak["used"], watcher.get("/models/status").json()["vram_used_mb"])

        watcher = threading.Thread(target=watch)
        watcher.start()
        with httpx.Client(base_url=light.url, timeout=120) as client, concurrent.futures.ThreadPoolExecutor(4) as pool:
            responses = list(pool.map(lambda endpoint: client.post(endpoint, json=endpoints[endpoint]), calls))
        stop.set()
        watcher.join()
        final = httpx.get(f"{light.url}/models/status").json()
    codes = [r.status_code for r in responses]
    assert set(codes) <= {200, 503}, codes
    refused = [r.json()["error"] for r in responses if r.status_code == 503]
    assert all(e["code"] == "RESOURCE_EXHAUSTED" for e in refused), refused
    assert codes.count(200) >= len(codes) // 2
    assert peak["used"] <= budget and final["vram_used_mb"] <= budget
    assert sum(m["load_count"] for m in final["registered_models"]) > 2


def test_enrichment_preload_variable_is_read(demo_models: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENRICHMENT_PRELOAD_MODELS", "person_reid")
    with enrichment_server("light", demo_models) as light, httpx.Client(base_url=light.url, timeout=60) as client:
        status = _wait_ready(client)
    assert status["preload"]["loaded"] == ["person_reid"]
    assert [m["name"] for m in status["loaded_models"]] == ["person_reid"]


def test_compose_level_light_preload_variable_wins_for_the_light_role(
    demo_models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENRICHMENT_PRELOAD_MODELS", "person_reid")
    monkeypatch.setenv("ENRICHMENT_LIGHT_PRELOAD_MODELS", "pet_classifier,depth_estimator")
    with enrichment_server("light", demo_models) as light, httpx.Client(base_url=light.url, timeout=60) as client:
        status = _wait_ready(client)
    assert sorted(m["name"] for m in status["loaded_models"]) == ["depth_estimator", "pet_classifier"]


def _wait_ready(client: httpx.Client) -> dict:
    for _ in range(600):
        if client.get("/ready").status_code == 200:
            return client.get("/models/status").json()
        threading.Event().wait(0.1)
    raise AssertionError("never ready")


def test_missing_pyroscope_server_never_breaks_the_service(demo_models: Path) -> None:
    with enrichment_server("light", demo_models, PYROSCOPE_ENABLED=True, PYROSCOPE_URL="http://127.0.0.1:9") as light:
        health = httpx.get(f"{light.url}/health").json()
        reid = httpx.post(f"{light.url}/person-reid", json=PERSON, timeout=120)
    assert health["profiling"].startswith("enabled")
    assert reid.status_code == 200


def test_enrich_reports_a_broken_model_and_still_returns_the_others(demo_models: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    shutil.copytree(demo_models, models)
    weights = next((models / "model-zoo" / "threat_detector").glob("*.pt"))
    weights.write_bytes(b"not a checkpoint")
    with enrichment_server("light", models) as light:
        response = httpx.post(f"{light.url}/enrich", json={**PERSON, "detection_type": "person"}, timeout=120)
        health = httpx.get(f"{light.url}/health").json()
    assert response.status_code == 200
    body = response.json()
    assert body["errors"]["threat_detector"]["code"] == "MODEL_LOAD_FAILED"
    assert body["threat"] is None
    assert {"pose_estimator", "person_reid"} <= set(body["models_used"])
    assert health["status"] == "degraded"
    assert any(p.startswith("threat_detector: error") for p in health["problems"])


def test_missing_weights_name_the_pull_command(tmp_path: Path) -> None:
    with enrichment_server("light", tmp_path / "empty") as light:
        response = httpx.post(f"{light.url}/person-reid", json=PERSON, timeout=30)
        health = httpx.get(f"{light.url}/health").json()
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "MODEL_NOT_AVAILABLE"
    assert "python -m ai.models pull person_reid" in error["message"]
    assert health["status"] in {"degraded", "unhealthy"}


def test_status_names_the_backend_of_each_loaded_model(light_url: str) -> None:
    with httpx.Client(base_url=light_url, timeout=120) as client:
        for endpoint in ("/pose-analyze", "/person-reid"):
            assert client.post(endpoint, json=PERSON).status_code == 200
        models = {m["name"]: m for m in client.get("/models/status").json()["registered_models"]}
        metrics = client.get("/metrics").text
    assert models["pose_estimator"]["backend"] == "onnxruntime", "CPU: Ultralytics models run on ONNX Runtime"
    assert models["person_reid"]["backend"] == "pytorch"
    assert 'enrichment_light_inference_requests_total{endpoint="/pose-analyze",status="200"}' in metrics
    assert "enrichment_light_inference_latency_seconds_bucket" in metrics
    assert "enrichment_light_gpu_memory_used_gb" in metrics
    assert 'enrichment_light_model_loaded{model="pose_estimator"} 1.0' in metrics


def test_per_model_path_variable_overrides_the_model_zoo(
    demo_models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "osnet-x0-25"
    shutil.copytree(demo_models / "model-zoo" / "person_reid", elsewhere)
    empty = tmp_path / "no-zoo"
    monkeypatch.setenv("REID_MODEL_PATH", str(next(elsewhere.glob("*.pth"))))
    monkeypatch.setenv("PET_MODEL_PATH", str(tmp_path / "missing-folder"))
    with enrichment_server("light", empty) as light:
        reid = httpx.post(f"{light.url}/person-reid", json=PERSON, timeout=120)
        pet = httpx.post(f"{light.url}/pet-classify", json=PERSON, timeout=30)
        models = {m["name"]: m for m in httpx.get(f"{light.url}/models/status").json()["registered_models"]}
    assert reid.status_code == 200, "REID_MODEL_PATH was used although the model zoo is empty"
    assert models["person_reid"]["path"].startswith(str(elsewhere))
    assert pet.status_code == 503 and "PET_MODEL_PATH" in pet.json()["error"]["message"]
