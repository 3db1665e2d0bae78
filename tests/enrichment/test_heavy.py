"""The heavy role's models that this build runs: vehicle type and demographics."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.enrichment.conftest import enrichment_server
from tests.support.photos import BUS_PERSON_BOX, bus_b64

VEHICLE_TYPES = {
    "articulated_truck",
    "background",
    "bicycle",
    "bus",
    "car",
    "motorcycle",
    "non_motorized_vehicle",
    "pedestrian",
    "pickup_truck",
    "single_unit_truck",
    "work_van",
}
PERSON = {"image": bus_b64(), "bbox": BUS_PERSON_BOX}


def test_vehicle_classify_shape(heavy_url: str) -> None:
    response = httpx.post(f"{heavy_url}/vehicle-classify", json={"image": bus_b64()}, timeout=120)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["vehicle_type"] in VEHICLE_TYPES
    assert body["display_name"] == body["vehicle_type"].replace("_", " ")
    assert set(body["all_scores"]) == VEHICLE_TYPES
    assert sum(body["all_scores"].values()) == pytest.approx(1.0, abs=1e-3)
    assert body["confidence"] == pytest.approx(max(body["all_scores"].values()), abs=1e-4)
    assert isinstance(body["is_commercial"], bool)


def test_vehicle_on_light_is_not_hosted(light_url: str) -> None:
    response = httpx.post(f"{light_url}/vehicle-classify", json={"image": bus_b64()}, timeout=30)
    assert response.status_code == 409
    assert "ENRICHMENT_VEHICLE_SERVICE" in response.json()["error"]["message"]


def test_enrich_car_on_heavy_classifies_the_vehicle(heavy_url: str) -> None:
    body = httpx.post(f"{heavy_url}/enrich", json={"image": bus_b64(), "detection_type": "car"}, timeout=120).json()
    assert body["models_used"] == ["vehicle_classifier"]
    assert body["vehicle"]["vehicle_type"] in VEHICLE_TYPES
    assert body["demographics"] is None and body["pose"] is None


def test_enrich_person_on_heavy_finds_the_face_then_age_and_gender(heavy_url: str) -> None:
    body = httpx.post(f"{heavy_url}/enrich", json={**PERSON, "detection_type": "person"}, timeout=120).json()
    assert body["errors"] == {}
    assert {"face_detector", "age_classifier", "gender_classifier"} <= set(body["models_used"])
    age, gender = body["demographics"]["age"], body["demographics"]["gender"]
    assert age["age_range"] in {"0-12", "13-17", "18-24", "25-35", "36-50", "51-65", "65+"}
    assert 0.0 <= age["raw_prediction"] <= 80.0
    assert gender["gender"] in {"male", "female", "unknown"}


def test_demographics_fall_back_to_the_head_region_without_a_face_detector(
    demo_models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENRICHMENT_FACE_SERVICE", "light")
    with enrichment_server("heavy", demo_models) as heavy:
        body = httpx.post(f"{heavy.url}/enrich", json={**PERSON, "detection_type": "person"}, timeout=120).json()
    assert "face_detector" not in body["models_used"]
    assert {"age_classifier", "gender_classifier"} <= set(body["models_used"])
    assert body["demographics"]["age"]["age_range"]


def test_optional_scene_enrichments_run_only_when_asked(heavy_url: str) -> None:
    plain = httpx.post(f"{heavy_url}/enrich", json={**PERSON, "detection_type": "person"}, timeout=120).json()
    assert plain["violence"] is None and plain["weather"] is None
    asked = httpx.post(
        f"{heavy_url}/enrich",
        json={**PERSON, "detection_type": "person", "options": {"include_violence": True, "include_weather": True}},
        timeout=120,
    ).json()
    assert asked["errors"] == {}
    assert isinstance(asked["violence"]["is_violent"], bool)
    assert asked["weather"]["condition"] in {"cloudy", "foggy", "rainy", "snowy", "sunny"}
