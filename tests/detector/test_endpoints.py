"""The detector's endpoints over real HTTP on demo weights: shapes, thresholds, the class
filter, batch equals single, versions, metrics and bad input."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest

from ai.detector.service import DetectorService
from ai.detector.settings import SECURITY_CLASSES, DetectorSettings
from ai.runtime.errors import StartupError
from ai.runtime.model_service import create_service_app
from tests.detector.conftest import detector_server, v2_weights
from tests.support.images import jpeg_bytes, png_bomb, real_photo


def photo(name: str = "bus.jpg") -> bytes:
    return real_photo(name).read_bytes()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def detect(url: str, data: bytes, **fields: object) -> dict:
    response = httpx.post(f"{url}/detect", files={"file": ("frame.jpg", data)}, data=fields, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def test_detect_answers_security_classes_in_pixels_of_the_image(detector_url: str) -> None:
    body = detect(detector_url, photo())
    assert (body["image_width"], body["image_height"]) == (810, 1080)
    assert body["version"] == "v1" and body["model"] == "yolo26"
    assert body["inference_time_ms"] > 0
    assert body["detections"], "calibrated demo weights find objects on the bus photo"
    for item in body["detections"]:
        assert item["class"] in SECURITY_CLASSES
        assert item["confidence"] >= 0.5
        box = item["bbox"]
        assert box["x"] >= 0 and box["x"] + box["width"] <= 810.01
        assert box["y"] >= 0 and box["y"] + box["height"] <= 1080.01


def test_json_base64_and_multipart_give_the_same_answer(detector_url: str) -> None:
    multipart = detect(detector_url, photo())
    response = httpx.post(f"{detector_url}/detect", json={"image": b64(photo())}, timeout=60)
    assert response.status_code == 200
    assert response.json()["detections"] == multipart["detections"]


def test_conf_threshold_keeps_only_boxes_at_or_above_it(detector_url: str) -> None:
    low = detect(detector_url, photo(), conf_threshold=0.3)["detections"]
    high = detect(detector_url, photo(), conf_threshold=0.7)["detections"]
    assert all(item["confidence"] >= 0.3 for item in low)
    assert all(item["confidence"] >= 0.7 for item in high)
    assert len(low) > len(high)
    assert high == [item for item in low if item["confidence"] >= 0.7]


def test_class_filter_drops_other_classes(detector_models: Path, tmp_path: Path) -> None:
    with detector_server(detector_models, tmp_path, DETECTOR_CLASSES="car") as url:
        classes = {item["class"] for item in detect(url, photo(), conf_threshold=0.3)["detections"]}
        assert classes == {"car"}
        health = httpx.get(f"{url}/health").json()
        assert health["classes"] == ["car"]


def test_batch_equals_one_request_per_image(detector_url: str) -> None:
    images = [photo("bus.jpg"), photo("zidane.jpg"), jpeg_bytes(320, 240)]
    response = httpx.post(
        f"{detector_url}/detect/batch", json={"images": [b64(i) for i in images], "conf_threshold": 0.3}, timeout=60
    )
    assert response.status_code == 200, response.text
    batch = response.json()
    assert batch["count"] == 3 and batch["version"] == "v1"
    for image, result in zip(images, batch["results"], strict=True):
        single = detect(detector_url, image, conf_threshold=0.3)
        assert (result["image_width"], result["image_height"]) == (single["image_width"], single["image_height"])
        assert len(result["detections"]) == len(single["detections"])
        for a, b in zip(result["detections"], single["detections"], strict=True):
            assert a["class"] == b["class"]
            assert a["confidence"] == pytest.approx(b["confidence"], abs=1e-3)
            assert a["bbox"] == pytest.approx(b["bbox"], abs=0.2)


def test_batch_runs_as_one_forward_pass(detector_url: str) -> None:
    def passes() -> float:
        text = httpx.get(f"{detector_url}/metrics").text
        line = next(x for x in text.splitlines() if x.startswith('detector_model_executions_total{model="yolo26"}'))
        return float(line.split()[-1])

    before = passes()
    files = [("file", (f"f{i}.jpg", jpeg_bytes(160, 120, color))) for i, color in enumerate(["red", "green", "blue"])]
    response = httpx.post(f"{detector_url}/detect/batch", files=files, timeout=60)
    assert response.status_code == 200, response.text
    assert response.json()["count"] == 3
    assert passes() == before + 1


def test_batch_over_the_limit_is_refused_with_the_envelope(detector_models: Path, tmp_path: Path) -> None:
    with detector_server(detector_models, tmp_path, DETECTOR_MAX_BATCH_IMAGES="2") as url:
        small = b64(jpeg_bytes(32, 32))
        response = httpx.post(f"{url}/detect/batch", json={"images": [small] * 3}, timeout=30)
        assert response.status_code == 413
        assert "at most 2" in response.json()["error"]["message"]
        files = [("file", (f"{i}.jpg", jpeg_bytes(32, 32))) for i in range(5)]
        response = httpx.post(f"{url}/detect/batch", files=files, timeout=30)
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
        assert httpx.post(f"{url}/detect/batch", json={"images": [small] * 2}, timeout=30).status_code == 200


def test_v1_predict_answers_in_the_mlops_shape(detector_url: str) -> None:
    response = httpx.post(
        f"{detector_url}/v1/predict",
        files={"file": ("bus.jpg", photo())},
        data={"conf_threshold": "0.3"},
        headers={"X-Request-ID": "frame-42"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["request_id"] == "frame-42" and body["version"] == "v1"
    assert body["image_shape"] == [1080, 810, 3]
    assert body["confidence_threshold"] == 0.3
    assert 0 < body["inference_time"] < 60
    for item in body["detections"]:
        x1, y1, x2, y2 = item["bbox"]
        assert 0 <= x1 < x2 <= 810.01 and 0 <= y1 < y2 <= 1080.01
        assert item["class_name"] in SECURITY_CLASSES and item["confidence"] >= 0.3


def test_v2_without_weights_is_404_naming_the_variable(detector_url: str) -> None:
    response = httpx.post(f"{detector_url}/v2/predict", files={"file": ("a.jpg", jpeg_bytes())}, timeout=30)
    assert response.status_code == 404
    assert "MODEL_V2_PATH" in response.json()["error"]["message"]


def test_v2_answers_when_its_weights_are_named(detector_models: Path, tmp_path: Path) -> None:
    env = {"MODEL_V2_PATH": v2_weights(detector_models)}
    with detector_server(detector_models, tmp_path, env=env) as url:
        response = httpx.post(f"{url}/v2/predict", files={"file": ("bus.jpg", photo())}, timeout=60)
        assert response.status_code == 200, response.text
        assert response.json()["version"] == "v2"
        assert httpx.get(f"{url}/health").json()["models_loaded"] == {"yolo26": True, "yolo26_v2": True}


def test_traffic_split_is_sticky_per_camera_and_says_which_version(detector_models: Path, tmp_path: Path) -> None:
    env = {"MODEL_V2_PATH": v2_weights(detector_models)}
    with detector_server(detector_models, tmp_path, env=env, DETECTOR_TRAFFIC_SPLIT="v1=50,v2=50") as url:
        small = jpeg_bytes(64, 48)
        seen: dict[str, set[str]] = {}
        for camera in [f"cam-{i}" for i in range(12)] * 2:
            seen.setdefault(camera, set()).add(detect(url, small, camera_id=camera)["version"])
        assert all(len(versions) == 1 for versions in seen.values()), seen
        assert {v for versions in seen.values() for v in versions} == {"v1", "v2"}
        metrics = httpx.get(f"{url}/metrics").text
        assert 'object_detection_requests_total{status="200",version="v2"}' in metrics


def test_split_to_an_unconfigured_version_stops_start_up(detector_models: Path, tmp_path: Path) -> None:
    settings = DetectorSettings(AI_MODELS_PATH=str(detector_models), DETECTOR_TRAFFIC_SPLIT="v1=90,v2=10")
    with pytest.raises(StartupError, match="MODEL_V2_PATH"):
        create_service_app(DetectorService(settings))


def test_spec_metrics_count_requests_by_version_and_status(detector_url: str) -> None:
    detect(detector_url, jpeg_bytes())
    refused = httpx.post(f"{detector_url}/detect", json={"image": "not base64!"}, timeout=30)
    text = httpx.get(f"{detector_url}/metrics").text
    assert 'object_detection_requests_total{status="200",version="v1"}' in text
    # Refused before a version was chosen: counted all the same, with its status.
    assert f'object_detection_requests_total{{status="{refused.status_code}",version="none"}}' in text
    assert 'object_detection_request_duration_seconds_count{version="v1"}' in text
    assert 'object_detection_inference_duration_seconds_count{version="v1"}' in text


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"image": b64(b"not an image at all")}, 415),
        ({"image": b64(jpeg_bytes()), "conf_threshold": 2}, 422),
        ({"image": b64(jpeg_bytes()), "camera_id": "front door\nX-Injected: 1"}, 422),
        ({"image": b64(jpeg_bytes()), "camera_id": "x" * 500}, 422),
        ({"image": b64(png_bomb())}, 413),
        ({}, 422),
    ],
)
def test_bad_input_gets_the_envelope_and_the_service_stays_up(detector_url: str, body: dict, status: int) -> None:
    response = httpx.post(f"{detector_url}/detect", json=body, timeout=30)
    assert response.status_code == status, response.text
    assert set(response.json()["error"]) >= {"code", "message", "request_id"}
    assert detect(detector_url, jpeg_bytes())["version"] == "v1"


def test_reference_update_needs_an_admin_key_in_the_schema(detector_url: str) -> None:
    paths = httpx.get(f"{detector_url}/openapi.json").json()["paths"]
    assert paths["/reference/update"]["post"]["x-required-scope"] == "admin"
    assert paths["/detect/batch"]["post"]["x-required-scope"] == "infer"
    assert paths["/drift/status"]["get"]["x-required-scope"] == "read"


def test_real_weights_through_the_service_honour_classes_and_threshold(detector_models: Path, tmp_path: Path) -> None:
    from tests.detector.test_backends import real_weights

    env = {"MODEL_V1_PATH": str(real_weights())}  # YOLOv8s, classes Normal (a standing person) and Fall
    with detector_server(detector_models, tmp_path, env=env, DETECTOR_CLASSES="Normal,Fall") as url:
        people = detect(url, photo(), conf_threshold=0.4)
        assert people["model"] == "best"
        labels = [item["class"] for item in people["detections"]]
        assert labels == ["Normal"] * len(labels) and len(labels) >= 3  # the people standing on the bus photo
        best = people["detections"][0]["confidence"] - 1e-4
        confident = detect(url, photo(), conf_threshold=best)["detections"]
        assert confident == [item for item in people["detections"] if item["confidence"] >= best]
        assert len(confident) == 1
    with detector_server(detector_models, tmp_path, env=env, DETECTOR_CLASSES="Fall") as url:
        assert detect(url, photo(), conf_threshold=0.4)["detections"] == []
