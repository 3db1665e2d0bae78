"""Every light endpoint over real HTTP on loopback, on demo weights, in its documented shape."""

from __future__ import annotations

import asyncio
import base64
import io
import math

import httpx
import numpy as np
import pytest
from PIL import Image

from ai.contracts.enrichment import COCO_KEYPOINT_NAMES
from ai.enrichment import depth
from ai.enrichment.depth_rules import depth_png_base64
from tests.support.images import b64, png_bytes
from tests.support.photos import BUS_PERSON_BOX, bus_b64


@pytest.fixture(scope="module")
def client(light_url: str) -> httpx.Client:
    with httpx.Client(base_url=light_url, timeout=120) as http:
        yield http


def person_request(**extra: object) -> dict[str, object]:
    return {"image": bus_b64(), "bbox": BUS_PERSON_BOX, **extra}


def test_pose_analyze_returns_17_named_keypoints_posture_and_alerts(client: httpx.Client) -> None:
    response = client.post("/pose-analyze", json=person_request())
    assert response.status_code == 200, response.text
    body = response.json()
    assert [k["name"] for k in body["keypoints"]] == list(COCO_KEYPOINT_NAMES)
    assert all({"x", "y", "confidence"} <= k.keys() for k in body["keypoints"])
    assert body["posture"] in {"standing", "walking", "running", "sitting", "crouching", "lying_down", "unknown"}
    assert isinstance(body["alerts"], list)
    assert body["inference_time_ms"] > 0
    # Keypoints come back in the submitted image's coordinates, not the crop's.
    xs = [k["x"] for k in body["keypoints"]]
    assert min(xs) >= BUS_PERSON_BOX[0] - 1


def test_pose_without_a_person_is_empty_not_an_error(client: httpx.Client) -> None:
    response = client.post("/pose-analyze", json={"image": b64(png_bytes(64, 64, "gray"))})
    assert response.status_code == 200
    assert response.json()["keypoints"] == [] and response.json()["posture"] == "unknown"


def test_threat_detect_shape(client: httpx.Client) -> None:
    response = client.post("/threat-detect", json={"image": bus_b64()})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["threats_detected"], "the demo threat model fires on this photo"
    assert body["is_threat"] is True
    for item in body["threats_detected"]:
        assert item["class"] in {"knife", "gun", "pistol", "rifle", "bat", "axe"}
        assert set(item["bbox"]) == {"x", "y", "width", "height"}
        assert item["bbox"]["width"] > 0 and item["bbox"]["height"] > 0
        assert item["severity"] in {"low", "medium", "high", "critical"}
    expected_max = max((t["confidence"] for t in body["threats_detected"]), default=0.0)
    assert body["max_confidence"] == pytest.approx(expected_max)


def test_person_reid_embedding_is_512_and_unit_norm(client: httpx.Client) -> None:
    response = client.post("/person-reid", json=person_request())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["embedding_dim"] == 512 == len(body["embedding"])
    assert math.sqrt(sum(v * v for v in body["embedding"])) == pytest.approx(1.0, abs=1e-4)
    again = client.post("/person-reid", json=person_request()).json()["embedding"]
    assert again == pytest.approx(body["embedding"], abs=1e-5), "same crop, same embedding"


def test_pet_classify_shape(client: httpx.Client) -> None:
    response = client.post(
        "/pet-classify", json={"image": bus_b64(), "bbox": {"x": 0, "y": 0, "width": 400, "height": 400}}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["pet_type"] in {"cat", "dog"}
    assert 0.0 <= body["confidence"] <= 1.0
    assert isinstance(body["is_household_pet"], bool) and body["breed"] and body["label"]


def test_depth_estimate_is_a_png_of_the_crop_size(client: httpx.Client) -> None:
    response = client.post("/depth-estimate", json=person_request())
    assert response.status_code == 200, response.text
    body = response.json()
    png = Image.open(io.BytesIO(base64.b64decode(body["depth_map_base64"])))
    width, height = BUS_PERSON_BOX[2] - BUS_PERSON_BOX[0], BUS_PERSON_BOX[3] - BUS_PERSON_BOX[1]
    assert png.format == "PNG" and png.size == (width, height)
    assert (body["width"], body["height"]) == (width, height)
    assert body["min_depth"] <= body["mean_depth"] <= body["max_depth"]


def test_depth_png_is_encoded_off_the_event_loop(client: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """Encoding a crop's depth PNG takes ~13 ms: on the loop it would stall every request."""
    where: list[str] = []

    def recording(values: np.ndarray) -> str:
        try:
            asyncio.get_running_loop()
            where.append("event loop")
        except RuntimeError:
            where.append("worker thread")
        return depth_png_base64(values)

    monkeypatch.setattr(depth, "depth_png_base64", recording)
    assert client.post("/depth-estimate", json=person_request()).status_code == 200
    assert where == ["worker thread"]


@pytest.mark.parametrize("method", ["center", "mean", "median", "min"])
def test_object_distance_by_each_method(client: httpx.Client, method: str) -> None:
    response = client.post("/object-distance", json={"image": bus_b64(), "bbox": BUS_PERSON_BOX, "method": method})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["method"] == method
    assert 0.0 <= body["relative_depth"] <= 1.0
    assert body["estimated_distance_m"] == pytest.approx(body["relative_depth"] * 10.0, abs=0.01)
    assert body["proximity_label"] in {"very_close", "close", "medium", "far"}


def test_object_distance_min_is_never_farther_than_median(client: httpx.Client) -> None:
    nearest = client.post("/object-distance", json=person_request(method="min")).json()
    median = client.post("/object-distance", json=person_request(method="median")).json()
    assert nearest["relative_depth"] <= median["relative_depth"]


def test_object_distance_requires_a_bbox(client: httpx.Client) -> None:
    response = client.post("/object-distance", json={"image": bus_b64()})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "INVALID_REQUEST"


def test_enrich_person_runs_the_light_person_models(client: httpx.Client) -> None:
    response = client.post(
        "/enrich", json=person_request(detection_type="person", detection_id="det-1", options={"include_depth": True})
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["detection_id"] == "det-1"
    assert set(body["models_used"]) == {"threat_detector", "pose_estimator", "person_reid", "depth_estimator"}
    assert body["errors"] == {}
    assert len(body["pose"]["keypoints"]) == 17
    assert len(body["reid_embedding"]) == 512
    assert body["threat"]["threat_type"] in {"knife", "gun", "weapon", "none"}
    assert body["depth"]["proximity_label"] in {"very_close", "close", "medium", "far"}
    assert body["pet"] is None and body["vehicle"] is None


def test_enrich_options_switch_models_off_and_types_pick_models(client: httpx.Client) -> None:
    person = client.post(
        "/enrich", json=person_request(detection_type="person", options={"include_pose": False, "include_reid": False})
    )
    assert person.json()["models_used"] == ["threat_detector"]
    dog = client.post("/enrich", json=person_request(detection_type="dog")).json()
    assert dog["models_used"] == ["pet_classifier"] and dog["pet"] is not None
    car = client.post("/enrich", json=person_request(detection_type="car")).json()
    assert car["models_used"] == [], "no light model is triggered by a car unless depth is asked for"


def test_openapi_documents_both_request_forms_for_every_endpoint(client: httpx.Client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for endpoint in (
        "/pose-analyze",
        "/threat-detect",
        "/person-reid",
        "/pet-classify",
        "/depth-estimate",
        "/object-distance",
        "/enrich",
    ):
        content = paths[endpoint]["post"]["requestBody"]["content"]
        assert {"application/json", "multipart/form-data"} <= content.keys(), endpoint


def test_multipart_upload_works_on_a_model_endpoint(client: httpx.Client) -> None:
    data = base64.b64decode(bus_b64())
    response = client.post(
        "/person-reid", files={"file": ("bus.jpg", data, "image/jpeg")}, data={"bbox": str(BUS_PERSON_BOX)}
    )
    assert response.status_code == 200, response.text
    assert response.json()["embedding_dim"] == 512
