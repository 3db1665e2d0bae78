"""How the YOLO family turns a batch into predict calls (the predictor is replaced by a
recorder: TensorRT needs a GPU, and this is about the slicing, not the model)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from ai.contracts.images import Box
from ai.runtime.backends import BackendOptions
from ai.runtime.families.tasks import DetectInput, Detection
from ai.runtime.families.ultralytics_detect import UltralyticsDetect


def adapter(backend: str, max_batch_size: int) -> tuple[UltralyticsDetect, list[int]]:
    calls: list[int] = []
    model = object.__new__(UltralyticsDetect)
    model.backend = backend
    model.backend_options = BackendOptions(Path("."), Path("."), max_batch_size=max_batch_size)

    def predict(images: list[Image.Image], conf: float, max_det: int = 300) -> list[list[Detection]]:
        calls.append(len(images))
        return [
            [Detection("knife", 0, score, Box(0, 0, 10, 10)) for score in (0.9, 0.5, 0.3)][:max_det] for _ in images
        ]

    model.predict = predict  # type: ignore[method-assign]
    return model, calls


def inputs(count: int, confidence: float = 0.25, max_det: int = 300) -> list[DetectInput]:
    return [DetectInput(Image.new("RGB", (32, 32)), confidence, max_det) for _ in range(count)]


def test_on_tensorrt_a_frame_larger_than_the_engine_batch_runs_in_chunks_of_it() -> None:
    model, calls = adapter("tensorrt", max_batch_size=4)
    assert len(model.run_batch(inputs(10))) == 10
    assert calls == [4, 4, 2]


def test_on_onnxruntime_the_whole_batch_goes_to_one_predict() -> None:
    model, calls = adapter("onnxruntime", max_batch_size=1)
    assert len(model.run_batch(inputs(5))) == 5
    assert calls == [5]


def test_each_input_keeps_its_own_threshold_and_cap_in_a_shared_predict() -> None:
    model, _calls = adapter("onnxruntime", max_batch_size=1)
    strict, loose, capped = model.run_batch([*inputs(1, 0.6), *inputs(1, 0.25), *inputs(1, 0.25, max_det=1)])
    assert [d.confidence for d in strict] == [0.9]
    assert [d.confidence for d in loose] == [0.9, 0.5, 0.3]
    assert [d.confidence for d in capped] == [0.9]
