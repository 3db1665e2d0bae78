"""Accelerated backends: which one is chosen, the export cache, and that they agree."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest
import torch

from ai.runtime.backends import BackendOptions, cached_export, choose_backend
from ai.runtime.catalog import load_catalog
from ai.runtime.device import DeviceInfo
from ai.runtime.families import get_family
from ai.runtime.resolve import resolve_weights
from tests.enrichment.conftest import enrichment_server
from tests.support.photos import BUS_PERSON_BOX, bus_b64, bus_image
from tests.support.torch_models import kept_torch_threads, torch_threads_on_fresh_thread

CPU = DeviceInfo("cpu", None, "cpu", "cpu")
GPU = DeviceInfo("cuda", 0, "test gpu", "cuda")


def test_backend_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    assert choose_backend("auto", CPU, True, exportable=True)[0] == "onnxruntime"
    assert choose_backend("pytorch", CPU, True, exportable=True)[0] == "pytorch"
    assert choose_backend("auto", CPU, True, exportable=False)[0] == "pytorch"
    monkeypatch.setattr("ai.runtime.backends.has_module", lambda name: name != "tensorrt")
    assert choose_backend("auto", GPU, True, exportable=True) == ("pytorch", "TensorRT not installed; PyTorch on CUDA")
    monkeypatch.setattr("ai.runtime.backends.has_module", lambda name: True)
    assert choose_backend("auto", GPU, True, exportable=True)[0] == "tensorrt"
    assert choose_backend("auto", GPU, False, exportable=True)[0] == "pytorch"
    with pytest.raises(ValueError, match="backend must be"):
        choose_backend("openvino", CPU, True, exportable=True)


def test_export_cache_builds_once_per_weights_content(tmp_path: Path) -> None:
    weights = tmp_path / "m.pt"
    weights.write_bytes(b"v1")
    builds: list[Path] = []

    def export(copy: Path) -> Path:
        builds.append(copy)
        out = copy.with_suffix(".onnx")
        out.write_bytes(copy.read_bytes() + b"-exported")
        return out

    first = cached_export(weights, tmp_path / "cache", ["640"], ".onnx", export)
    second = cached_export(weights, tmp_path / "cache", ["640"], ".onnx", export)
    assert first == second and len(builds) == 1 and first.read_bytes() == b"v1-exported"
    weights.write_bytes(b"v2")  # new weights, new export
    third = cached_export(weights, tmp_path / "cache", ["640"], ".onnx", export)
    assert third != first and len(builds) == 2
    assert not [p for p in (tmp_path / "cache").iterdir() if p.name.startswith(".")], "no half-built folders left"


def _letterboxed(size: int = 640) -> torch.Tensor:
    array = np.asarray(bus_image().resize((size, size)), dtype=np.float32) / 255.0
    return torch.from_numpy(array.transpose(2, 0, 1))[None]


@pytest.mark.parametrize("name", ["pose_estimator", "threat_detector"])
def test_onnxruntime_and_pytorch_outputs_agree(name: str, demo_models: Path, tmp_path: Path) -> None:
    """Same input tensor through each loaded backend: same boxes, scores and keypoints.

    (Ultralytics letterboxes to a minimal rectangle for PyTorch but to the fixed
    640x640 of a static ONNX graph, so end-to-end detections on a photo differ by
    that preprocessing; the backends themselves must not.)
    """
    entry = load_catalog()[name]
    weights = resolve_weights(entry, demo_models).path
    assert weights is not None
    family = get_family(entry.family)
    raw = {}
    for backend in ("pytorch", "onnxruntime"):
        adapter = family(entry, weights, CPU, BackendOptions(tmp_path, tmp_path / "trt", backend=backend))
        adapter.load()
        assert adapter.backend == backend
        assert adapter.predict([bus_image()], conf=0.25), "loads and runs end to end"
        with torch.no_grad():
            out = adapter.model.predictor.model(_letterboxed())
        raw[backend] = (out[0] if isinstance(out, list | tuple) else out).float().numpy()
    torch_out, onnx_out = raw["pytorch"], raw["onnxruntime"]
    assert torch_out.shape == onnx_out.shape
    boxes, scores = slice(0, 4), slice(4, 4 + len(adapter.model.names))
    assert np.abs(torch_out[:, boxes] - onnx_out[:, boxes]).max() < 0.05  # pixels
    assert np.abs(torch_out[:, scores] - onnx_out[:, scores]).max() < 1e-4
    if name == "pose_estimator":
        keypoints = slice(4 + len(adapter.model.names), None)
        assert np.abs(torch_out[:, keypoints] - onnx_out[:, keypoints]).max() < 0.05


def test_a_pose_call_leaves_the_services_torch_thread_count(demo_models: Path) -> None:
    """Ultralytics sets min(8, CPUs - 1) threads when it selects the CPU; 9 can never
    be its choice, so a count left at anything else means the service lost its own."""
    with kept_torch_threads(), enrichment_server("light", demo_models, TORCH_THREADS=9) as server:
        body = {"image": bus_b64(), "bbox": BUS_PERSON_BOX}
        assert httpx.post(f"{server.url}/pose-analyze", json=body, timeout=120).status_code == 200
        assert torch_threads_on_fresh_thread() == 9


@pytest.mark.parametrize("spinning", [False, True])
def test_onnxruntime_pool_spins_only_when_asked(spinning: bool, demo_models: Path, tmp_path: Path) -> None:
    """Off by default: idle pool threads must not busy-wait on CPU the other models need."""
    entry = load_catalog()["pose_estimator"]
    weights = resolve_weights(entry, demo_models).path
    assert weights is not None
    options = BackendOptions(tmp_path, tmp_path / "trt", backend="onnxruntime", onnxruntime_spinning=spinning)
    adapter = get_family(entry.family)(entry, weights, CPU, options)
    adapter.load()
    options_in_use = adapter.model.predictor.model.backend.session.get_session_options()
    try:
        allowed = options_in_use.get_session_config_entry("session.intra_op.allow_spinning")
    except RuntimeError:  # not set: ONNX Runtime's default, spinning
        allowed = "1"
    assert allowed == ("1" if spinning else "0")
    assert adapter.predict([bus_image()], conf=0.25) is not None, "the reopened session runs"
