"""Which backend runs a model (PyTorch, ONNX Runtime, TensorRT) and the export cache.

Accelerated backends are built from the PyTorch weights once, keyed by the weights'
content (and, for TensorRT, the GPU and TensorRT version), written atomically into a
cache folder and reused across restarts.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ai.runtime.device import DeviceInfo

logger = logging.getLogger(__name__)

BACKENDS = ("auto", "pytorch", "onnxruntime", "tensorrt")


@dataclass(frozen=True)
class BackendOptions:
    """How a service wants one model run: which backend, where exports are cached."""

    cache_dir: Path
    tensorrt_cache_dir: Path
    backend: str = "auto"
    use_tensorrt: bool = True
    onnxruntime_spinning: bool = False  # idle pool threads busy-wait after a run
    max_batch_size: int = 1  # the largest batch an exported engine must accept
    cpu_threads: int = 0  # threads per forward pass on the CPU (0: the library's default)


def has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def choose_backend(requested: str, device: DeviceInfo, use_tensorrt: bool, exportable: bool) -> tuple[str, str]:
    """The backend to use and why. ``exportable``: the family can export ONNX/TensorRT."""
    if requested not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {requested!r}")
    trt_ready = device.is_cuda and has_module("tensorrt")
    ort_ready = has_module("onnxruntime")
    if not exportable or requested == "pytorch":
        return "pytorch", "requested" if requested == "pytorch" else "only PyTorch for this family"
    if requested == "tensorrt" or (requested == "auto" and device.is_cuda and use_tensorrt):
        if trt_ready:
            return "tensorrt", "CUDA and TensorRT present"
        if device.is_cuda:
            return "pytorch", "TensorRT not installed; PyTorch on CUDA"
    if device.is_cuda:
        return "pytorch", "CUDA without TensorRT" if use_tensorrt else "TensorRT disabled"
    if ort_ready:
        return "onnxruntime", "CPU: ONNX Runtime is the fast CPU backend"
    return "pytorch", "onnxruntime not installed"


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def cached_export(
    weights: Path, cache_root: Path, key_parts: list[str], suffix: str, export: Callable[[Path], Path]
) -> Path:
    """Return the cached export of ``weights``, building it once with ``export``.

    ``export(copy_of_weights)`` must write the artefact and return its path. The build
    happens in a private folder that is renamed into place, so two processes racing
    on the same key never see a half-written file.
    """
    key = "-".join([file_digest(weights), *key_parts])
    final = cache_root / key
    artefact = final / f"model{suffix}"
    if artefact.exists():
        logger.info("reusing cached %s export %s", suffix, artefact)
        return artefact
    cache_root.mkdir(parents=True, exist_ok=True)
    work = cache_root / f".{key}.{uuid.uuid4().hex}"
    work.mkdir()
    try:
        source = work / f"model{weights.suffix}"
        shutil.copyfile(weights, source)
        logger.info("exporting %s to %s (once; cached under %s)", weights, suffix, final)
        built = export(source)
        built.replace(work / f"model{suffix}")
        try:
            os.replace(work, final)
        except OSError:
            if not artefact.exists():  # lost a race to a folder without the artefact
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return artefact
