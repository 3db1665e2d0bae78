"""Batching with the real families on demo weights: under concurrency a batch forms,
and what each request gets equals what it gets alone; one /enrich over a frame's
detections runs each triggered model once."""

from __future__ import annotations

import base64
import concurrent.futures
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.enrichment.conftest import enrichment_server
from tests.support.photos import BUS_PERSON_BOX, bus_b64

# Five crops of bus.jpg of one size (so the depth model can stack them), at different places.
BOXES = [[x, y, x + 240, y + 480] for x, y in ((0, 180), (120, 220), (260, 200), (400, 240), (560, 200))]


def _close_points(a: list[dict[str, Any]], b: list[dict[str, Any]], tolerance: float = 0.5) -> bool:
    return len(a) == len(b) and all(
        abs(p["x"] - q["x"]) <= tolerance and abs(p["y"] - q["y"]) <= tolerance for p, q in zip(a, b, strict=True)
    )


def same_pose(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a["posture"] == b["posture"] and _close_points(a["keypoints"], b["keypoints"])


def same_threats(a: dict[str, Any], b: dict[str, Any]) -> None:
    boxes = [[t["bbox"][k] for k in ("x", "y", "width", "height")] for t in a["threats_detected"]]
    others = [[t["bbox"][k] for k in ("x", "y", "width", "height")] for t in b["threats_detected"]]
    assert np.allclose(boxes, others, atol=0.5) if boxes or others else True
    assert [t["class"] for t in a["threats_detected"]] == [t["class"] for t in b["threats_detected"]]


def same_embedding(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a["embedding"] == pytest.approx(b["embedding"], abs=1e-4)


def same_pet(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a["label"] == b["label"] and a["confidence"] == pytest.approx(b["confidence"], abs=1e-4)


def same_depth(a: dict[str, Any], b: dict[str, Any]) -> None:
    for key in ("min_depth", "max_depth", "mean_depth"):
        assert a[key] == pytest.approx(b[key], abs=1e-3)
    pixels = [np.asarray(Image.open(io.BytesIO(base64.b64decode(x["depth_map_base64"]))), float) for x in (a, b)]
    assert np.abs(pixels[0] - pixels[1]).max() <= 1.0


FAMILIES: dict[str, tuple[str, str, Callable[[dict[str, Any], dict[str, Any]], None]]] = {
    "ultralytics_pose": ("/pose-analyze", "POSE", same_pose),
    "ultralytics_detect": ("/threat-detect", "THREAT", same_threats),
    "torchreid": ("/person-reid", "REID", same_embedding),
    "hf_image_classifier": ("/pet-classify", "PET", same_pet),
    "hf_depth": ("/depth-estimate", "DEPTH", same_depth),
}
MODEL_OF = {
    "/pose-analyze": "pose_estimator",
    "/threat-detect": "threat_detector",
    "/person-reid": "person_reid",
    "/pet-classify": "pet_classifier",
    "/depth-estimate": "depth_estimator",
}


def counters(client: httpx.Client, model: str) -> tuple[float, float]:
    values = {"executions": 0.0, "inferences": 0.0}
    for line in client.get("/metrics").text.splitlines():
        for name in values:
            if line.startswith(f'enrichment_light_model_{name}_total{{model="{model}"}} '):
                values[name] = float(line.split()[-1])
    return values["executions"], values["inferences"]


@pytest.mark.parametrize("family", list(FAMILIES))
def test_a_batch_forms_under_concurrency_and_equals_the_unbatched_results(
    family: str, demo_models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, key, same = FAMILIES[family]
    monkeypatch.setenv(f"{key}_MAX_BATCH_SIZE", "8")  # on the CPU some families default to 1
    bodies = [{"image": bus_b64(), "bbox": box} for box in BOXES]
    with (
        enrichment_server("light", demo_models, INFERENCE_WORKERS=1) as server,
        httpx.Client(base_url=server.url, timeout=120) as client,
    ):
        alone = [client.post(path, json=body) for body in bodies]
        before = counters(client, MODEL_OF[path])
        with concurrent.futures.ThreadPoolExecutor(len(bodies)) as pool:
            together = list(pool.map(lambda body: client.post(path, json=body), bodies))
        executions, inferences = (a - b for a, b in zip(counters(client, MODEL_OF[path]), before, strict=True))
    assert [r.status_code for r in alone + together] == [200] * (2 * len(bodies)), together[-1].text
    assert inferences == len(bodies)
    assert executions < inferences, f"{family}: no batch formed ({executions:.0f} passes for {inferences:.0f})"
    for single, batched in zip(alone, together, strict=True):
        same(batched.json(), single.json())


PEOPLE = [[50, 200, 300, 900], [200, 220, 450, 880], [620, 230, 810, 880], [0, 500, 240, 1000]]


def test_one_enrich_over_four_people_runs_each_triggered_model_once(light_url: str) -> None:
    frame = {
        "image": bus_b64(),
        "detections": [
            {"detection_id": f"p{i}", "detection_type": "person", "bbox": box} for i, box in enumerate(PEOPLE)
        ],
    }
    models = ("threat_detector", "pose_estimator", "person_reid")
    with httpx.Client(base_url=light_url, timeout=120) as client:
        before = {m: counters(client, m) for m in models}
        response = client.post("/enrich", json=frame)
        after = {m: counters(client, m) for m in models}
        alone = client.post(
            "/enrich", json={"image": bus_b64(), "bbox": PEOPLE[2], "detection_type": "person", "detection_id": "x"}
        )
    assert response.status_code == 200, response.text
    body = response.json()
    for model in models:
        executions, inferences = (a - b for a, b in zip(after[model], before[model], strict=True))
        assert (executions, inferences) == (1, 4), f"{model}: {executions} passes for {inferences} crops"
    assert [d["detection_id"] for d in body["detections"]] == ["p0", "p1", "p2", "p3"]
    assert set(body["models_used"]) == set(models)
    for answer in body["detections"]:
        assert answer["errors"] == {} and set(answer["models_used"]) == set(models)
        assert len(answer["pose"]["keypoints"]) == 17 and len(answer["reid_embedding"]) == 512
    assert body["detections"][2]["reid_embedding"] == pytest.approx(alone.json()["reid_embedding"], abs=1e-4)
    xs = [k["x"] for k in body["detections"][2]["pose"]["keypoints"]]
    assert min(xs) >= PEOPLE[2][0] - 1, "keypoints are in the frame's coordinates, per detection"


def test_enrich_detections_of_different_types_get_different_models(light_url: str) -> None:
    frame = {
        "image": bus_b64(),
        "detections": [
            {"detection_id": "person", "detection_type": "person", "bbox": BUS_PERSON_BOX},
            {"detection_id": "dog", "detection_type": "dog", "bbox": [0, 0, 400, 400]},
            {"detection_id": "car", "detection_type": "car"},
        ],
        "options": {"include_depth": True},
    }
    with httpx.Client(base_url=light_url, timeout=120) as client:
        body = client.post("/enrich", json=frame).json()
    person, dog, car = body["detections"]
    assert set(person["models_used"]) == {"threat_detector", "pose_estimator", "person_reid", "depth_estimator"}
    assert set(dog["models_used"]) == {"pet_classifier", "depth_estimator"} and dog["pet"] is not None
    assert car["models_used"] == ["depth_estimator"], "no light model but depth is triggered by a car"
    times = {d["model_times_ms"]["depth_estimator"] for d in (person, dog, car)}
    assert len(times) == 1, "one depth pass over the frame served every detection"
    assert person["pet"] is None and dog["pose"] is None


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ({"detections": [{"detection_id": "a"}, {"detection_id": "a"}]}, "repeated: a"),
        ({"detections": [{"detection_id": "a"}], "bbox": [0, 0, 10, 10]}, "not both"),
        ({"detections": []}, "at least 1"),
        ({"detections": [{"bbox": [5000, 5000, 5100, 5100]}]}, "detections[0].bbox"),
    ],
)
def test_a_bad_frame_request_is_a_clear_4xx(light_url: str, frame: dict[str, Any], message: str) -> None:
    response = httpx.post(f"{light_url}/enrich", json={"image": bus_b64(), **frame}, timeout=60)
    assert response.status_code in (400, 422), response.text
    assert message in response.json()["error"]["message"]
