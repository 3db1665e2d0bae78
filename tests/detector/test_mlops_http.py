"""Drift monitoring and active learning as an operator sees them, over real HTTP:
the reference captured from live traffic, drift firing on darkened frames and quiet on
normal ones, and uncertain frames saved as a dataset Ultralytics loads."""

from __future__ import annotations

import base64
import io
import random
import time
from pathlib import Path

import httpx
from PIL import Image, ImageEnhance

from tests.detector.conftest import detector_server
from tests.support.images import real_photo

BATCH = 8


def frames(count: int, seed: int, darken: float = 1.0) -> list[str]:
    """Varied crops of the two real photos, as a camera stream would vary."""
    rng = random.Random(seed)
    photos = [Image.open(real_photo(name)).convert("RGB") for name in ("bus.jpg", "zidane.jpg")]
    encoded = []
    for _ in range(count):
        photo = rng.choice(photos)
        width, height = photo.size
        scale = rng.uniform(0.6, 0.9)
        w, h = int(width * scale), int(height * scale)
        x, y = rng.randint(0, width - w), rng.randint(0, height - h)
        crop = photo.crop((x, y, x + w, y + h)).resize((w // 2, h // 2))
        crop = ImageEnhance.Brightness(crop).enhance(rng.uniform(0.95, 1.05) * darken)
        buffer = io.BytesIO()
        crop.save(buffer, "JPEG", quality=85)
        encoded.append(base64.b64encode(buffer.getvalue()).decode())
    return encoded


def send(url: str, images: list[str]) -> None:
    for i in range(0, len(images), BATCH):
        response = httpx.post(f"{url}/detect/batch", json={"images": images[i : i + BATCH]}, timeout=120)
        assert response.status_code == 200, response.text


def drift_events(url: str) -> float:
    lines = httpx.get(f"{url}/metrics").text.splitlines()
    return sum(float(x.split()[-1]) for x in lines if x.startswith('data_drift_detected_total{version="v1"}'))


def drift_of(url: str) -> dict:
    return httpx.get(f"{url}/drift/status", timeout=30).json()["versions"]["v1"]


def test_drift_fires_on_darkened_frames_and_stays_quiet_on_normal_ones(detector_models: Path, tmp_path: Path) -> None:
    settings = {"DRIFT_WINDOW_SIZE": "48", "DRIFT_MIN_SAMPLES": "48", "DRIFT_CHECK_EVERY": "16"}
    with detector_server(detector_models, tmp_path, ACTIVE_LEARNING_ENABLED="false", **settings) as url:
        assert "POST /reference/update" in drift_of(url)["reason"]
        send(url, frames(48, seed=1))
        captured = httpx.post(f"{url}/reference/update", json={"version": "v1"}, timeout=30)
        assert captured.status_code == 200, captured.text
        send(url, frames(48, seed=2))  # the same stream, other frames
        normal = drift_of(url)
        assert normal["drift_detected"] is False, normal["drifted_features"]
        send(url, frames(48, seed=3, darken=0.35))  # night falls, or the lens is covered
        dark = drift_of(url)
        assert dark["drift_detected"] is True
        assert "brightness" in dark["drifted_features"]
        deadline = time.monotonic() + 10
        while drift_events(url) < 1:
            assert time.monotonic() < deadline, "the background check did not count the drift"
            time.sleep(0.1)
    # The reference survives a restart.
    with detector_server(detector_models, tmp_path, ACTIVE_LEARNING_ENABLED="false", **settings) as url:
        assert drift_of(url)["reference"]["samples"] == 48


def test_reference_update_without_enough_traffic_is_refused(detector_url: str) -> None:
    response = httpx.post(f"{detector_url}/reference/update", json={"version": "v1"}, timeout=30)
    assert response.status_code == 409
    assert "DRIFT_MIN_SAMPLES" in response.json()["error"]["message"]


def test_uncertain_frames_become_a_dataset_ultralytics_loads(detector_models: Path, tmp_path: Path) -> None:
    from ultralytics.data.utils import check_det_dataset

    settings = {"UNCERTAINTY_THRESHOLD": "0.99", "ACTIVE_LEARNING_DIR": str(tmp_path / "al")}
    with detector_server(detector_models, tmp_path, **settings) as url:
        send(url, frames(4, seed=5))
        deadline = time.monotonic() + 20
        while httpx.get(f"{url}/active-learning/status").json()["saved"] < 1:
            assert time.monotonic() < deadline, "no uncertain frame was saved"
            time.sleep(0.1)
        assert 'active_learning_samples_total{version="v1"}' in httpx.get(f"{url}/metrics").text
    dataset = check_det_dataset(str(tmp_path / "al" / "v1" / "data.yaml"))
    assert dataset["names"][0] == "person" and dataset["nc"] == len(dataset["names"])
    labels = list((tmp_path / "al" / "v1" / "labels").glob("*.txt"))
    images = list((tmp_path / "al" / "v1" / "images").glob("*.jpg"))
    assert labels and len(labels) == len(images)
    for line in labels[0].read_text().splitlines():
        class_id, *box = line.split()
        assert int(class_id) in dataset["names"] and all(0 <= float(v) <= 1 for v in box)
