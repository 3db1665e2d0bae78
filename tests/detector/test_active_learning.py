"""Active-learning capture against real images, real files and a real S3-compatible server."""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from ai.contracts.images import Box
from ai.detector.active_learning import ActiveLearningConfig, ActiveLearningSampler, uncertain_detections
from ai.runtime.families.tasks import Detection

os.environ.setdefault("YOLO_OFFLINE", "1")  # read when ultralytics is first imported, in the tests below

ASSETS = Path(importlib.util.find_spec("ultralytics").origin).parent / "assets"
NAMES = {0: "person", 1: "bicycle", 2: "car", 3: "motorcycle", 4: "airplane", 5: "bus", 6: "train", 7: "truck"}


def det(class_id: int, confidence: float, box: tuple[float, float, float, float]) -> Detection:
    return Detection(NAMES.get(class_id, f"c{class_id}"), class_id, confidence, Box(*box))


# bus.jpg (810x1080) as YOLO sees it; the last person runs off the right edge to test clamping
BUS_DETECTIONS = [
    det(5, 0.94, (17, 230, 801, 768)),
    det(0, 0.88, (48, 398, 245, 902)),
    det(0, 0.85, (221, 405, 345, 857)),
    det(0, 0.52, (660, 380, 830, 875)),
    det(0, 0.31, (0, 550, 63, 873)),
]


@pytest.fixture(scope="module")
def bus() -> Image.Image:
    with Image.open(ASSETS / "bus.jpg") as image:
        return image.convert("RGB")


@pytest.fixture(scope="module")
def zidane() -> Image.Image:
    with Image.open(ASSETS / "zidane.jpg") as image:
        return image.convert("RGB")


class Saved:
    def __init__(self) -> None:
        self.versions: list[str] = []

    def __call__(self, version: str) -> None:
        self.versions.append(version)


@pytest.fixture
def make(tmp_path: Path) -> Iterator:
    made: list[ActiveLearningSampler] = []

    def factory(**overrides) -> tuple[ActiveLearningSampler, Saved]:
        saved = Saved()
        config = ActiveLearningConfig(**{"directory": tmp_path / "samples", "max_per_minute": 1e6, **overrides})
        made.append(ActiveLearningSampler(config, saved))
        return made[-1], saved

    yield factory
    for sampler in made:
        sampler.close()


def files(root: Path, pattern: str) -> list[Path]:
    return sorted(root.glob(pattern))


def test_band_is_floor_inclusive_threshold_exclusive(tmp_path: Path) -> None:
    config = ActiveLearningConfig(directory=tmp_path, min_confidence=0.25, uncertainty_threshold=0.7)
    dets = [det(0, c, (0, 0, 10, 10)) for c in (0.1, 0.25, 0.5, 0.6999, 0.7, 0.95)]
    assert [d.confidence for d in uncertain_detections(dets, config)] == [0.25, 0.5, 0.6999]


def test_only_frames_with_a_detection_in_the_band_are_saved_with_all_their_detections(make, zidane, tmp_path) -> None:
    sampler, saved = make()
    confident = [det(0, 0.91, (747, 41, 1148, 712)), det(0, 0.8, (120, 193, 1000, 711))]
    noise = [det(27, 0.1, (437, 437, 524, 710)), det(0, 0.2, (0, 0, 40, 40))]
    assert not sampler.offer("v1", zidane, confident, NAMES, camera_id="porch")
    assert not sampler.offer("v1", zidane, noise, NAMES, camera_id="porch")
    assert sampler.offer("v1", zidane, [*confident, det(27, 0.45, (437, 437, 524, 710))], NAMES, camera_id="porch")
    sampler.close()

    labels = files(tmp_path / "samples" / "v1" / "labels", "*.txt")
    assert len(labels) == 1 and len(files(tmp_path / "samples" / "v1" / "images", "*.jpg")) == 1
    assert [line.split()[0] for line in labels[0].read_text().splitlines()] == ["0", "0", "27"]
    assert "_porch_" in labels[0].name
    assert saved.versions == ["v1"]
    assert sampler.status()["saved"] == 1


def expected_rows(detections: list[Detection], width: int, height: int) -> list[tuple[int, float, float, float, float]]:
    rows = []
    for d in detections:
        x1, x2 = max(d.box.x1, 0), min(d.box.x2, width)
        y1, y2 = max(d.box.y1, 0), min(d.box.y2, height)
        rows.append((d.class_id, (x1 + x2) / 2 / width, (y1 + y2) / 2 / height, (x2 - x1) / width, (y2 - y1) / height))
    return sorted(rows)


def test_saved_folder_is_a_yolo_dataset_ultralytics_loads_with_the_offered_labels(make, bus, tmp_path) -> None:
    from ultralytics.data import YOLODataset
    from ultralytics.data.utils import check_det_dataset

    sampler, _ = make()
    assert sampler.offer("yolo11n", bus, BUS_DETECTIONS, NAMES, camera_id="driveway")
    sampler.close()

    root = tmp_path / "samples" / "yolo11n"
    data = check_det_dataset(str(root / "data.yaml"), autodownload=False)
    assert data["names"] == NAMES and data["nc"] == len(NAMES)
    assert Path(data["path"]) == root.resolve()
    dataset = YOLODataset(img_path=data["val"], data=data, task="detect", augment=False)
    assert len(dataset.labels) == 1
    label = dataset.labels[0]
    assert label["shape"] == (1080, 810)
    got = sorted((int(c), *map(float, b)) for c, b in zip(label["cls"].ravel(), label["bboxes"], strict=True))
    want = expected_rows(BUS_DETECTIONS, 810, 1080)
    assert [row[0] for row in got] == [row[0] for row in want]
    for g, w in zip(got, want, strict=True):
        assert g[1:] == pytest.approx(w[1:], abs=1e-5)


def test_data_yaml_names_every_class_id_and_is_rewritten_when_names_change(make, zidane, tmp_path) -> None:
    from ultralytics.data.utils import check_det_dataset

    sampler, _ = make()
    # the model names only 0 and 5; a detection of class 7 brings its own label
    assert sampler.offer("v", zidane, [det(7, 0.5, (10, 10, 200, 200))], {0: "person", 5: "bus"})
    assert sampler.offer("v", zidane, [det(0, 0.5, (10, 10, 200, 200))], {0: "pedestrian", 5: "bus"})
    sampler.close()

    data = check_det_dataset(str(tmp_path / "samples" / "v" / "data.yaml"), autodownload=False)
    assert data["nc"] == 8
    assert (data["names"][0], data["names"][5], data["names"][7], data["names"][3]) == (
        "pedestrian",
        "bus",
        "truck",
        "class_3",
    )


def test_rate_limit_drops_beyond_the_burst_and_counts_them(make, zidane) -> None:
    sampler, _ = make(max_per_minute=60, queue_size=1000)  # burst of 10, then one a second
    accepted = sum(sampler.offer("v", zidane, [det(0, 0.5, (0, 0, 50, 50))], NAMES) for _ in range(100))
    assert accepted == 10
    assert sampler.status()["dropped"]["rate"] == 90


def test_offer_never_blocks_and_drops_when_the_queue_is_full(make, bus) -> None:
    big = bus.resize((3240, 4320))  # ~14 MP: each JPEG encode keeps the writer busy
    sampler, _ = make(queue_size=4)
    start = time.perf_counter()
    accepted = sum(sampler.offer("v", big, BUS_DETECTIONS, NAMES) for _ in range(1000))
    elapsed = time.perf_counter() - start
    assert elapsed < 0.5, f"1000 offers took {elapsed:.3f}s"
    status = sampler.status()
    assert 4 <= accepted <= 10  # the queue, plus the few the writer took off it meanwhile
    assert status["dropped"]["queue_full"] == 1000 - accepted
    assert status["dropped"]["rate"] == 0


def test_quota_counts_existing_files_stops_writing_and_warns_once(make, bus, tmp_path, caplog) -> None:
    root = tmp_path / "samples"
    root.mkdir()
    (root / "earlier.bin").write_bytes(b"\0" * (1024 * 1024))  # already on disk at start-up
    sampler, _ = make(max_mb=1.5)
    with caplog.at_level(logging.WARNING, logger="ai.detector.active_learning"):
        accepted = sum(sampler.offer("v", bus, BUS_DETECTIONS, NAMES) for _ in range(12))
        sampler.close()
    status = sampler.status()
    on_disk = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())

    assert accepted == 12
    assert status["saved"] >= 1 and status["dropped"]["quota"] >= 1
    assert status["saved"] + status["dropped"]["quota"] == 12
    assert status["bytes_used"] == on_disk <= status["quota_bytes"] == int(1.5 * 1024 * 1024)
    assert len(files(root / "v" / "images", "*.jpg")) == status["saved"]
    assert sum("quota" in r.getMessage() for r in caplog.records) == 1


def test_hostile_camera_id_and_version_cannot_escape_the_directory(make, zidane, tmp_path) -> None:
    sampler, saved = make()
    assert sampler.offer("../../v", zidane, [det(0, 0.5, (0, 0, 50, 50))], NAMES, camera_id="../../etc/passwd")
    assert sampler.offer("v", zidane, [det(0, 0.5, (0, 0, 50, 50))], NAMES, camera_id="x" * 500 + "/\0")
    sampler.close()

    root = (tmp_path / "samples").resolve()
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) == 2 * 2 + 2  # two images and labels, a data.yaml per version folder
    assert all(p.resolve().is_relative_to(root) for p in written)
    names = [p.stem for p in written if p.suffix == ".jpg"]
    assert any("______etc_passwd" in n for n in names)
    assert all(len(n.split("_", 2)[2].rsplit("_", 1)[0]) <= 64 for n in names)
    assert saved.versions == ["../../v", "v"]  # the metric keeps the version as given


def test_disabled_sampler_saves_nothing(make, zidane, tmp_path) -> None:
    sampler, _ = make(enabled=False)
    assert not sampler.offer("v", zidane, [det(0, 0.5, (0, 0, 50, 50))], NAMES)
    assert sampler.status()["enabled"] is False
    assert not (tmp_path / "samples").exists()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_s3_sink_writes_the_dataset_to_a_real_local_s3_server(zidane, tmp_path, monkeypatch) -> None:
    boto3 = pytest.importorskip("boto3", reason="boto3 is not installed (pip install boto3)")
    server_module = pytest.importorskip("moto.server", reason="moto[server] is not installed: no local S3 to test")
    for name, value in [("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test")]:
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    port = free_port()
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        client = boto3.client("s3", endpoint_url=endpoint)
        client.create_bucket(Bucket="frames")
        config = ActiveLearningConfig(
            directory=tmp_path / "unused", s3_bucket="frames", s3_prefix="al/", s3_endpoint_url=endpoint
        )
        saved: list[str] = []
        sampler = ActiveLearningSampler(config, saved.append)
        assert sampler.status()["sink"] == "s3://frames/al"
        assert sampler.offer("v2", zidane, [det(0, 0.5, (0, 0, 640, 360))], NAMES, camera_id="gate")
        sampler.close()

        keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket="frames")["Contents"])
        assert len(keys) == 3 and keys[0] == "al/v2/data.yaml"
        assert re.fullmatch(r"al/v2/images/\d{8}T\d{6}_\d{6}Z_gate_[0-9a-f]{8}\.jpg", keys[1])
        assert keys[2] == keys[1].replace("/images/", "/labels/").replace(".jpg", ".txt")
        label = client.get_object(Bucket="frames", Key=keys[2])["Body"].read().decode()
        assert label == "0 0.250000 0.250000 0.500000 0.500000\n"
        jpeg = client.get_object(Bucket="frames", Key=keys[1])["Body"].read()
        assert jpeg[:2] == b"\xff\xd8" and sampler.status()["bytes_used"] > len(jpeg)
        assert "path:" not in client.get_object(Bucket="frames", Key=keys[0])["Body"].read().decode()
        assert saved == ["v2"] and not (tmp_path / "unused").exists()
    finally:
        server.stop()
