"""The detail enrichments over real HTTP on the heavy role: clothing, clothing segments,
the action over frames, vehicle damage, licence plates (PP-OCR on its real weights, in
its worker process), open-vocabulary boxes and ViTPose+; each endpoint in its documented
shape, and each in /enrich when its option asks for it."""

from __future__ import annotations

import base64
import io
import time
from pathlib import Path

import httpx
import psutil
import pytest
from PIL import Image

from ai.enrichment.open_vocab import vocabulary
from ai.runtime.families.hf_xclip import DEFAULT_ACTIONS
from ai.runtime.families.open_clip_zero_shot import DEFAULT_LABELS
from tests.enrichment.conftest import enrichment_server
from tests.support.photos import BUS_PERSON_BOX, bus_b64, bus_image
from tests.support.plates import plate

PERSON = {"image": bus_b64(), "bbox": BUS_PERSON_BOX}
DAMAGE_TYPES = {"crack", "dent", "glass_shatter", "lamp_broken", "scratch", "tire_flat"}


def b64(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return base64.b64encode(buffer.getvalue()).decode()


def post(url: str, path: str, body: dict) -> httpx.Response:
    return httpx.post(f"{url}{path}", json=body, timeout=180)


def inside(box: list[float], bounds: list[float]) -> bool:
    x1, y1, x2, y2 = bounds
    return x1 - 1 <= box[0] <= box[2] <= x2 + 1 and y1 - 1 <= box[1] <= box[3] <= y2 + 1


def test_clothing_classify_gives_a_garment_colours_and_the_attire_flags(heavy_url: str) -> None:
    body = post(heavy_url, "/clothing-classify", {**PERSON, "is_night": True}).json()
    assert body["clothing_type"] in DEFAULT_LABELS and body["color"] == body["colors"][0]
    assert body["top_labels"][0]["label"] == body["clothing_type"] and len(body["top_labels"]) == 3
    assert body["style"] in {"casual", "formal", "work", "athletic", "concealing"}
    assert body["is_suspicious"] == bool(body["suspicious_reasons"]) and body["inference_time_ms"] > 0


def test_clothing_segments_are_masks_over_their_boxes_in_image_pixels(heavy_url: str) -> None:
    body = post(heavy_url, "/clothing-segment", PERSON).json()
    assert body["segments"], "a random segmenter still paints some class"
    crop_area = (BUS_PERSON_BOX[2] - BUS_PERSON_BOX[0]) * (BUS_PERSON_BOX[3] - BUS_PERSON_BOX[1])
    assert sum(s["area_fraction"] for s in body["segments"]) <= 1.0 + 1e-6
    for segment in body["segments"]:
        assert segment["label"] != "background" and inside(segment["bbox"], BUS_PERSON_BOX)
        height, width = segment["mask"]["size"]
        counts = segment["mask"]["counts"]
        assert sum(counts) == height * width, "the runs cover the box exactly"
        on = sum(counts[1::2])
        assert on == pytest.approx(segment["area_fraction"] * crop_area, rel=0.01, abs=2)


def test_action_recognize_scores_the_clip_of_frames_and_image(heavy_url: str) -> None:
    frames = [b64(bus_image().rotate(angle)) for angle in (0, 2, 4)]
    body = post(heavy_url, "/action-recognize", {**PERSON, "frames": frames}).json()
    assert body["action"] in DEFAULT_ACTIONS and body["frames_used"] == 4
    scores = [s["score"] for s in body["scores"]]
    assert len(scores) == 5 and scores == sorted(scores, reverse=True) and scores[0] == body["confidence"]
    missing = post(heavy_url, "/action-recognize", PERSON)
    assert missing.status_code == 422 and missing.json()["error"]["code"] == "INVALID_REQUEST"
    bad = post(heavy_url, "/action-recognize", {**PERSON, "frames": ["bm90IGFuIGltYWdl"]})
    assert bad.status_code in (400, 415) and "frames[0]" in bad.json()["error"]["message"]


def test_vehicle_damage_regions_kinds_and_risk(heavy_url: str) -> None:
    body = post(heavy_url, "/vehicle-damage", {"image": bus_b64(), "is_night": True}).json()
    width, height = bus_image().size
    assert set(body["damage_types"]) <= DAMAGE_TYPES
    assert body["damage_types"] == sorted({d["damage_type"] for d in body["damages"]})
    for damage in body["damages"]:
        assert inside(damage["bbox"], [0, 0, width, height]) and damage["mask_area"] > 0
    assert body["risk"] == ("none" if not body["damages"] else body["risk"])
    assert body["risk"] in {"none", "elevated", "high", "critical"}, "night raises any damage"


def test_open_vocab_detect_labels_boxes_with_the_vocabulary(heavy_url: str) -> None:
    body = post(heavy_url, "/open-vocab-detect", {"image": bus_b64()}).json()
    assert body["vocabulary"] == vocabulary() and body["vocabulary"]
    assert {d["label"] for d in body["detections"]} <= set(body["vocabulary"])


def test_vitpose_gives_17_keypoints_in_image_pixels(heavy_url: str) -> None:
    body = post(heavy_url, "/vitpose-analyze", PERSON).json()
    assert body["model"] == "vitpose" and body["posture"]
    if body["keypoints"]:
        assert len(body["keypoints"]) == 17
        assert all(inside([k["x"], k["y"], k["x"], k["y"]], BUS_PERSON_BOX) for k in body["keypoints"])


def test_a_rendered_plate_is_read_by_pp_ocr_in_its_worker_process(
    demo_models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the plate detector on this role, the whole vehicle crop is read."""
    monkeypatch.setenv("ENRICHMENT_PLATE_SERVICE", "light")
    monkeypatch.setenv("MODEL_KEEP_ALIVE_OVERRIDES", "plate_ocr=1")
    with enrichment_server("heavy", demo_models) as heavy:
        body = post(heavy.url, "/plate-read", {"image": b64(plate("KX51 ABC"))}).json()
        status = httpx.get(f"{heavy.url}/models/status").json()
        ocr = next(m for m in status["registered_models"] if m["name"] == "plate_ocr")
        pid = ocr["worker_pid"]
        for _ in range(50):
            time.sleep(0.2)
            ocr = next(
                m
                for m in httpx.get(f"{heavy.url}/models/status").json()["registered_models"]
                if m["name"] == "plate_ocr"
            )
            if ocr["state"] == "unloaded" and ocr["freed_mb"] is not None:
                break
    assert [p["text"].replace(" ", "") for p in body["plates"]] == ["KX51ABC"], body
    assert body["plates"][0]["confidence"] > 0.8 and body["plates"][0]["detection_confidence"] is None
    assert ocr["isolation"] == "process" and pid is not None and pid != psutil.Process().pid
    assert ocr["state"] == "unloaded" and ocr["freed_mb"] > 0, "the idle worker exited and its memory went with it"
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_enrich_runs_the_detail_models_a_person_asks_for(heavy_url: str) -> None:
    frames = [b64(bus_image()), b64(bus_image())]
    options = {"use_vitpose": True, "clothing_segmentation": True, "action_recognition": True, "is_night": True}
    body = post(
        heavy_url, "/enrich", {**PERSON, "detection_type": "person", "frames": frames, "options": options}
    ).json()
    assert body["errors"] == {}, body["errors"]
    assert {"vitpose", "clothing_classifier", "clothing_segmenter", "action_recognizer"} <= set(body["models_used"])
    assert body["pose"]["model"] == "vitpose" and body["clothing"]["clothing_type"] in DEFAULT_LABELS
    assert body["clothing_segments"]["segments"] and body["action"]["frames_used"] == 3
    plain = post(heavy_url, "/enrich", {**PERSON, "detection_type": "person"}).json()
    assert plain["clothing"] is not None, "clothing is on by default"
    assert plain["action"] is None and plain["clothing_segments"] is None and plain["pose"] is None


def test_enrich_without_frames_skips_the_action_with_the_reason(heavy_url: str) -> None:
    options = {"action_recognition": True}
    body = post(heavy_url, "/enrich", {**PERSON, "detection_type": "person", "options": options}).json()
    assert "frames" in body["skipped"]["action_recognizer"] and body["action"] is None


def test_enrich_runs_damage_plates_and_open_vocab_for_a_car_when_asked(heavy_url: str) -> None:
    options = {"include_damage": True, "include_plates": True, "open_vocab": True}
    body = post(heavy_url, "/enrich", {"image": bus_b64(), "detection_type": "car", "options": options}).json()
    assert body["errors"] == {}, body["errors"]
    assert {"vehicle_damage", "license_plate_detector", "open_vocab_detector"} <= set(body["models_used"])
    assert body["vehicle_damage"]["risk"] in {"none", "low", "high"}
    assert body["plates"] is not None and body["open_vocab"]["vocabulary"] == vocabulary()
    if not body["plates"]["plates"]:  # the random plate detector found none: the reader is skipped, not failed
        assert "plate" in body["skipped"]["plate_ocr"]
