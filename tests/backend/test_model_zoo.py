"""The Model Zoo API: shapes, a service down, unknown models, latency history, parameters."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from backend.storage.latency import LatencySample, LatencyStore
from tests.backend.conftest import backend_client
from tests.support.photos import BUS_PERSON_BOX, bus_b64
from tests.support.server import free_port

UI_ORDER = [
    "Detection",
    "Classification",
    "Segmentation",
    "Pose",
    "Depth",
    "Embedding",
    "OCR",
    "Action Recognition",
    "Other",
]


def test_models_list_every_catalog_model_with_live_status(fleet, tmp_path: Path) -> None:
    light, heavy = fleet
    httpx.post(f"{light.url}/person-reid", json={"image": bus_b64(), "bbox": BUS_PERSON_BOX}, timeout=120)
    with backend_client(light.url, heavy.url, tmp_path) as backend:
        body = backend.get("/api/system/models").json()
        one = backend.get("/api/system/models/person_reid").json()
    models = {m["name"]: m for m in body["models"]}
    assert sum(m["service"] in {"light", "heavy"} for m in models.values()) == 19
    assert len(models) == 19 + 5, "and the detector's, Florence-2's and the CLIP service's rows (down here)"
    assert body["vram_budget_mb"] == pytest.approx(1.2 * 1024 + 6 * 1024, abs=0.2)
    assert body["vram_available_mb"] == pytest.approx(body["vram_budget_mb"] - body["vram_used_mb"], abs=0.2)
    assert body["loading_strategy"] == "on_demand" and body["max_concurrent_models"] == 5
    reid = models["person_reid"]
    assert (reid["status"], reid["service"], reid["enabled"], reid["available"]) == ("loaded", "light", True, True)
    assert reid["demo_weights"] is True and reid["backend"] == "pytorch" and reid["times_loaded"] == 1
    # The test client is neither local nor an admin key: the catalog source, never the weight path.
    assert reid["path"] == "torchreid:osnet_x0_25"
    assert not [m for m in models.values() if m["status"] == "disabled"], "every catalog row has its family"
    assert models["vitpose"]["enabled"] is True and models["vitpose"]["status"] == "unloaded", "on demand: use_vitpose"
    assert one["name"] == "person_reid" and one["status"] == "loaded"


def test_a_service_down_shows_its_models_unreachable_and_still_answers(fleet, tmp_path: Path) -> None:
    light, _heavy = fleet
    dead = f"http://127.0.0.1:{free_port()}"
    with backend_client(light.url, dead, tmp_path) as backend:
        response = backend.get("/api/system/models")
        compact = backend.get("/api/system/model-zoo/status")
    assert response.status_code == 200 and compact.status_code == 200
    models = {m["name"]: m for m in response.json()["models"]}
    assert models["vehicle_classifier"]["status"] == "unreachable"
    assert dead in models["vehicle_classifier"]["error"]
    assert models["pose_estimator"]["status"] in {"loaded", "unloaded"}
    assert response.json()["vram_budget_mb"] == pytest.approx(1.2 * 1024, abs=0.2), "only reachable budgets"


def test_compact_status_is_sorted_by_ui_category_with_disabled_last(fleet, tmp_path: Path) -> None:
    light, heavy = fleet
    with backend_client(light.url, heavy.url, tmp_path) as backend:
        body = backend.get("/api/system/model-zoo/status").json()
    items = body["models"]
    enabled = [i for i in items if i["enabled"]]
    disabled = [i for i in items if not i["enabled"]]
    assert items == enabled + disabled
    assert [UI_ORDER.index(i["category"]) for i in enabled] == sorted(UI_ORDER.index(i["category"]) for i in enabled)
    assert body["total_models"] == 24 and body["disabled_count"] == len(disabled) == 0
    assert body["loaded_count"] == sum(1 for i in items if i["status"] == "loaded")
    assert {"name", "display_name", "category", "status", "vram_mb", "last_used_at", "enabled"} == set(items[0])
    depth = next(i for i in items if i["name"] == "depth_estimator")
    assert depth["category"] == "Depth"


def test_unknown_model_is_a_404_envelope(fleet, tmp_path: Path) -> None:
    light, heavy = fleet
    with backend_client(light.url, heavy.url, tmp_path) as backend:
        responses = [
            backend.get("/api/system/models/nope"),
            backend.get("/api/system/model-zoo/latency/history", params={"model": "nope"}),
        ]
    for response in responses:
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "MODEL_NOT_FOUND"
        assert "pose_estimator" in response.json()["error"]["details"]["available_models"]


@pytest.mark.parametrize(
    "params",
    [
        {"model": "pose_estimator", "since": 0},
        {"model": "pose_estimator", "since": 1441},
        {"model": "pose_estimator", "bucket_seconds": 9},
        {"model": "pose_estimator", "bucket_seconds": 3601},
        {"model": "pose_estimator", "since": "soon"},
        {},
    ],
    ids=["since-0", "since-1441", "bucket-9", "bucket-3601", "since-text", "no-model"],
)
def test_invalid_history_parameters_get_the_envelope(fleet, tmp_path: Path, params: dict) -> None:
    light, heavy = fleet
    with backend_client(light.url, heavy.url, tmp_path) as backend:
        response = backend.get("/api/system/model-zoo/latency/history", params=params)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "INVALID_REQUEST"


def test_latency_history_buckets_recorded_samples(fleet, tmp_path: Path) -> None:
    light, heavy = fleet
    now = time.time()
    store = LatencyStore(f"sqlite:///{tmp_path / 'backend.db'}")
    store.create()
    bucket = 60
    current = (now // bucket) * bucket  # start of the bucket holding "now"
    store.add(
        [
            LatencySample("pose_estimator", "light", "/enrich", ms, True, current - 2 * bucket + 1 + i)
            for i, ms in enumerate([10.0, 20.0, 30.0, 40.0])
        ]
        + [
            LatencySample("pose_estimator", "light", "/enrich", 999.0, False, current - 2 * bucket + 5),  # failure
            LatencySample("threat_detector", "light", "/enrich", 5.0, True, current - 2 * bucket + 5),  # other model
            LatencySample("pose_estimator", "light", "/enrich", 50.0, True, current + 0.5),
        ]
    )
    with backend_client(light.url, heavy.url, tmp_path) as backend:
        body = backend.get(
            "/api/system/model-zoo/latency/history",
            params={"model": "pose_estimator", "since": 5, "bucket_seconds": bucket},
        ).json()
    assert body["model_name"] == "pose_estimator" and body["display_name"] == "YOLOv8n Pose"
    assert (body["window_minutes"], body["bucket_seconds"], body["has_data"]) == (5, 60, True)
    snapshots = body["snapshots"]
    assert len(snapshots) == 6  # 5 minutes, floored to a bucket boundary, up to the current bucket
    stats = [s["stats"] for s in snapshots]
    assert stats[-3] == {"avg_ms": 25.0, "p50_ms": 25.0, "p95_ms": 38.5, "sample_count": 4}
    assert stats[-2] is None
    assert stats[-1] == {"avg_ms": 50.0, "p50_ms": 50.0, "p95_ms": 50.0, "sample_count": 1}
    times = [s["timestamp"] for s in snapshots]
    assert times == sorted(times)


def test_enrichment_calls_are_recorded_for_history(fleet, tmp_path: Path) -> None:
    light, heavy = fleet
    with backend_client(light.url, heavy.url, tmp_path) as backend:
        backend.post("/api/enrich", json={"image": bus_b64(), "bbox": BUS_PERSON_BOX, "detection_type": "person"})
        body = backend.get(
            "/api/system/model-zoo/latency/history", params={"model": "person_reid", "since": 1, "bucket_seconds": 10}
        ).json()
        empty = backend.get("/api/system/model-zoo/latency/history", params={"model": "weather_classifier"}).json()
    recorded = [s["stats"] for s in body["snapshots"] if s["stats"]]
    assert body["has_data"] and recorded[-1]["sample_count"] == 1 and recorded[-1]["avg_ms"] > 0
    assert empty["has_data"] is False and all(s["stats"] is None for s in empty["snapshots"])
    assert len(empty["snapshots"]) == 61
