"""Family ``yolo_detect``: Ultralytics detection checkpoints on bare runners.

The ``.pt`` stays the source of truth and is exported once, as in
``ultralytics_detect``, but the forward pass runs without Ultralytics' predictor:
an ONNX Runtime session on the CPU (end-to-end export for NMS-free heads such as
YOLO26, any batch size in one run), a TensorRT FP16 engine on CUDA, the checkpoint's
module in PyTorch as the fallback. Letterbox and decoding are numpy
(``yolo_tensors``), one code for every backend, so their outputs agree. On the CPU
the predictor's per-call work was about half of a yolo26n call (docs/benchmarks.md).
"""

from __future__ import annotations

import logging
import threading

import numpy as np
from PIL import Image

from ai.runtime.backends import choose_backend
from ai.runtime.families import register_family
from ai.runtime.families.tasks import DetectInput, FrameDetections, Task
from ai.runtime.families.ultralytics_base import UltralyticsAdapter, import_yolo
from ai.runtime.families.yolo_runners import EngineRunner, OnnxRunner, Runner, TorchRunner, run_sliced
from ai.runtime.families.yolo_tensors import Letterbox, decode_end2end, decode_raw, input_shape, letterbox_batch

logger = logging.getLogger(__name__)


@register_family
class YoloDetect(UltralyticsAdapter):
    family = "yolo_detect"
    tasks = frozenset({Task.DETECT})
    task = "detect"
    demo_config = "yolo26n.yaml"

    runner: Runner

    def load(self) -> None:
        suffix = self.weights.suffix
        backend, reason = choose_backend(
            self.backend_options.backend, self.device, self.backend_options.use_tensorrt, exportable=suffix == ".pt"
        )
        if suffix == ".onnx":
            backend, reason = "onnxruntime", "an ONNX file was given"
        elif suffix == ".engine":
            backend, reason = "tensorrt", "a TensorRT engine was given"
        self.runner = self._runner(backend)
        self.backend, self.backend_reason = backend, reason
        self.input_size = self.runner.input_size or self.imgsz
        self._lock = threading.Lock()
        self.run_batch([DetectInput(_blank(self.input_size), 0.5)])  # sessions allocate on the first run
        logger.info(
            "%s runs on %s (%s), %s head, %d classes",
            self.entry.name,
            backend,
            reason,
            "end-to-end" if self.runner.end2end else "NMS",
            len(self.runner.names),
        )

    def _runner(self, backend: str) -> Runner:
        options = self.backend_options
        if backend == "onnxruntime":
            path = self.weights if self.weights.suffix == ".onnx" else self._export_onnx(dynamic=True, end2end=True)
            providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if self.device.is_cuda else None
            return OnnxRunner(path, options.cpu_threads, options.onnxruntime_spinning, providers)
        if backend == "tensorrt":
            path = self.weights if self.weights.suffix == ".engine" else self._export_tensorrt(end2end=True)
            return EngineRunner(path, self.device.index or 0, options.max_batch_size, self.imgsz)
        return TorchRunner(self.weights, self.device.torch_device, import_yolo())

    def run_batch(self, inputs: list[DetectInput]) -> list[FrameDetections]:
        """One forward pass per input shape (a camera's frames share one); each image keeps
        what its own threshold and cap allow, exactly as it would alone."""
        images = [np.asarray(item.image.convert("RGB")) for item in inputs]
        stride = self.runner.stride if self.runner.input_size is None else None  # a free size: pad to the stride
        groups: dict[tuple[int, int], list[int]] = {}
        for index, image in enumerate(images):
            groups.setdefault(input_shape(image.shape[:2], self.input_size, stride), []).append(index)
        results: list[FrameDetections | None] = [None] * len(inputs)
        for indices in groups.values():
            tensor, placed = letterbox_batch([images[i] for i in indices], self.input_size, stride)
            output = self._forward(tensor)
            for i, rows, where in zip(indices, output, placed, strict=True):
                results[i] = self._decode(rows, where, inputs[i])
        return results  # type: ignore[return-value]

    def _forward(self, tensor: np.ndarray) -> np.ndarray:
        if self.backend == "onnxruntime":  # a session may run concurrently
            return run_sliced(self.runner, tensor)
        with self._lock:  # a PyTorch module or an engine context may not
            return run_sliced(self.runner, tensor)

    def _decode(self, rows: np.ndarray, where: Letterbox, item: DetectInput) -> FrameDetections:
        names = self.runner.names
        if self.runner.end2end:
            found = decode_end2end(rows, where, item.confidence, item.max_det, names)
        else:
            found = decode_raw(rows, where, item.confidence, item.max_det, self.options.iou, names)
        return FrameDetections(found, names)


def _blank(size: int) -> Image.Image:
    return Image.new("RGB", (size, size))
