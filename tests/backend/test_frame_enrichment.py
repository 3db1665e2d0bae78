"""A frame's detections through the backend: one /enrich per service, merged per detection id."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.backend.conftest import backend_client
from tests.support.photos import bus_b64

PEOPLE = {"p1": [50, 200, 300, 900], "p2": [200, 220, 450, 880], "p3": [620, 230, 810, 880], "p4": [0, 500, 240, 1000]}


def _metric(url: str, series: str) -> float:
    for line in httpx.get(f"{url}/metrics", timeout=10).text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return 0.0


def _enrich_calls(url: str, role: str) -> float:
    return _metric(url, f'enrichment_{role}_inference_requests_total{{endpoint="/enrich",status="200"}}')


def test_four_people_and_a_car_make_one_call_per_service_merged_per_detection(fleet, tmp_path: Path) -> None:
    light, heavy = fleet
    detections = [{"detection_id": i, "detection_type": "person", "bbox": box} for i, box in PEOPLE.items()]
    detections.append({"detection_id": "c1", "detection_type": "car", "bbox": [0, 600, 810, 1080]})
    before = {"light": _enrich_calls(light.url, "light"), "heavy": _enrich_calls(heavy.url, "heavy")}
    threat_runs = _metric(light.url, 'enrichment_light_model_executions_total{model="threat_detector"}')
    with backend_client(light.url, heavy.url, tmp_path) as backend:
        response = backend.post("/api/enrich/frame", json={"image": bus_b64(), "detections": detections})
    assert response.status_code == 200, response.text
    assert _enrich_calls(light.url, "light") - before["light"] == 1
    assert _enrich_calls(heavy.url, "heavy") - before["heavy"] == 1
    assert _metric(light.url, 'enrichment_light_model_executions_total{model="threat_detector"}') - threat_runs == 1
    results = response.json()["detections"]
    assert [r["detection_id"] for r in results] == [*PEOPLE, "c1"]
    for result in results[:4]:
        me = result["detection_id"]
        assert result["status"] == "FULL", result["errors"]
        assert list(result["person_embeddings"]) == [me], "each person's embedding is keyed by its own id"
        if "age_classifier" not in result["skipped"]:  # the demo face detector finds no face in some crops
            assert me in result["age_classifications"] and me in result["gender_classifications"]
        assert result["pose"] is not None and result["vehicle"] is None
        assert result["services"]["light"]["detections"] == 4, "the light call carried the four people"
        assert f"person {me} (FULL)" in result["context"]
    assert any(r["age_classifications"] for r in results[:4]), "the heavy half of the merge arrived"
    car = results[4]
    assert car["status"] == "FULL" and car["vehicle"] is not None
    assert car["pose"] is None and car["person_embeddings"] == {}
    assert set(car["services"]) == {"heavy"}, "no light model is triggered by a car"
    embeddings = [tuple(r["person_embeddings"][r["detection_id"]]["embedding"][:8]) for r in results[:4]]
    assert len(set(embeddings)) == 4, "four different crops, four different embeddings"


def test_the_single_detection_form_still_answers_one_result(fleet, tmp_path: Path) -> None:
    light, heavy = fleet
    before = _enrich_calls(light.url, "light")
    with backend_client(light.url, heavy.url, tmp_path) as backend:
        result = backend.post(
            "/api/enrich",
            json={"image": bus_b64(), "bbox": PEOPLE["p1"], "detection_type": "person", "detection_id": "only"},
        ).json()
    assert result["detection_id"] == "only" and result["status"] == "FULL"
    assert list(result["person_embeddings"]) == ["only"]
    assert _enrich_calls(light.url, "light") - before == 1


def test_a_frame_with_repeated_detection_ids_is_refused(fleet, tmp_path: Path) -> None:
    light, heavy = fleet
    frame = {"image": bus_b64(), "detections": [{"detection_id": "a"}, {"detection_id": "a"}]}
    with backend_client(light.url, heavy.url, tmp_path) as backend:
        response = backend.post("/api/enrich/frame", json=frame)
    assert response.status_code == 422
    assert "repeated: a" in response.json()["error"]["message"]


def test_a_box_outside_the_frame_is_a_422_naming_it_and_no_service_is_called(fleet, tmp_path: Path) -> None:
    light, heavy = fleet
    before = _enrich_calls(light.url, "light")
    frame = {
        "image": bus_b64(),
        "detections": [
            {"detection_id": "in", "detection_type": "person", "bbox": PEOPLE["p1"]},
            {"detection_id": "out", "detection_type": "person", "bbox": [2000, 2000, 2100, 2100]},
        ],
    }
    with backend_client(light.url, heavy.url, tmp_path) as backend:
        response = backend.post("/api/enrich/frame", json=frame)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "INVALID_REQUEST"
    assert response.json()["error"]["message"].startswith("`detections[1].bbox` [2000.0, 2000.0, 2100.0, 2100.0] lies")
    assert _enrich_calls(light.url, "light") == before
