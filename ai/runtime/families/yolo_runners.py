"""The forward pass of a YOLO model on each backend, on a prepared ``[n, 3, s, s]`` tensor.

Every runner takes the same float32 tensor and gives the head's raw output as a numpy
array, so letterbox and decoding (``yolo_tensors``) are one code for all backends and
their outputs can be compared. ``max_batch`` is the largest batch one call accepts: a
static ONNX graph or a TensorRT engine is built for a batch size, and a larger batch is
run in slices of it.
"""

from __future__ import annotations

import ast
import logging
from pathlib import Path
from typing import Any, Protocol

import numpy as np

logger = logging.getLogger(__name__)


class Runner(Protocol):
    names: dict[int, str]
    end2end: bool
    input_size: int | None  # fixed by the graph, or None when any size is accepted
    max_batch: int | None
    stride: int  # the largest feature stride: a free input size must be a multiple of it

    def __call__(self, batch: np.ndarray) -> np.ndarray: ...


def run_sliced(runner: Runner, batch: np.ndarray) -> np.ndarray:
    """``runner`` over ``batch`` in slices of its largest batch."""
    step = runner.max_batch or len(batch)
    if step >= len(batch):
        return runner(batch)
    return np.concatenate([runner(batch[i : i + step]) for i in range(0, len(batch), step)])


def _names(value: Any) -> dict[int, str]:
    """Class names from a checkpoint (a dict or list) or ONNX metadata (its repr)."""
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return {}
    if isinstance(value, list | tuple):
        value = dict(enumerate(value))
    return {int(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


class OnnxRunner:
    """A bare ONNX Runtime session: no Ultralytics predictor around it."""

    def __init__(self, path: Path, threads: int, spinning: bool, providers: list[str] | None = None) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        if threads > 0:
            options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Idle pool threads busy-wait after a run unless told not to, taking CPU from the
        # other requests and services on the machine (docs/benchmarks.md).
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
        self.session = onnxruntime.InferenceSession(str(path), options, providers=providers or ["CPUExecutionProvider"])
        meta = self.session.get_modelmeta().custom_metadata_map
        first = self.session.get_inputs()[0]
        self.input_name = first.name
        batch, _, height, _ = first.shape
        self.max_batch = batch if isinstance(batch, int) and batch > 0 else None
        self.input_size = height if isinstance(height, int) and height > 0 else None
        self.names = _names(meta.get("names", "{}"))
        self.stride = int(meta.get("stride", 32))
        output = self.session.get_outputs()[0].shape
        # Ultralytics writes `end2end` into the metadata; other exports are recognised by shape.
        self.end2end = meta.get("end2end") == "True" or (meta.get("end2end") is None and output[-1] == 6)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: batch})[0]


def _first_output(output: Any) -> Any:
    return output[0] if isinstance(output, list | tuple) else output


class TorchRunner:
    """The checkpoint's own ``nn.Module`` in PyTorch (the fallback backend)."""

    def __init__(self, path: Path, device: str, yolo_class: Any) -> None:
        import torch

        model = yolo_class(str(path)).model
        self.names = _names(model.names)
        head = model.model[-1]
        # A YOLO26 checkpoint loads with its one-to-many head active; the one-to-one head
        # is what the end-to-end export runs, so both backends give the same rows.
        self.end2end = getattr(head, "one2one_cv2", None) is not None
        if self.end2end:
            model.end2end = True
        self.stride = int(max(model.stride)) if hasattr(model, "stride") else 32
        self.model = model.fuse().to(device).eval()
        self.device = device
        self.input_size = None
        self.max_batch = None
        self._torch = torch

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        with self._torch.inference_mode():
            output = _first_output(self.model(self._torch.from_numpy(batch).to(self.device)))
        return output.float().cpu().numpy()


class EngineRunner:
    """A TensorRT engine through Ultralytics' AutoBackend (it owns the CUDA bindings)."""

    def __init__(self, path: Path, device_index: int, max_batch: int, input_size: int) -> None:
        import torch
        from ultralytics.nn.autobackend import AutoBackend

        self.device = torch.device(f"cuda:{device_index}")
        self.backend = AutoBackend(str(path), device=self.device, fp16=True, verbose=False)
        self.names = _names(self.backend.names)
        self.end2end = bool(getattr(self.backend, "end2end", False))
        self.max_batch = max_batch
        self.input_size = input_size
        self.stride = int(getattr(self.backend, "stride", 32))
        self._torch = torch

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        tensor = self._torch.from_numpy(batch).to(self.device).half()
        with self._torch.inference_mode():
            output = _first_output(self.backend(tensor))
        return output.float().cpu().numpy()
