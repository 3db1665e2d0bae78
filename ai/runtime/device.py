"""Which device a service runs on, and how memory per model is measured there."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import psutil
import torch

logger = logging.getLogger(__name__)

MB = 1024.0 * 1024.0


@dataclass(frozen=True)
class DeviceInfo:
    """The device a service's models live on."""

    kind: str  # "cuda" or "cpu"
    index: int | None
    name: str
    requested: str

    @property
    def torch_device(self) -> str:
        return f"cuda:{self.index}" if self.kind == "cuda" else "cpu"

    @property
    def is_cuda(self) -> bool:
        return self.kind == "cuda"


def select_device(requested: str = "auto") -> DeviceInfo:
    """``auto`` picks CUDA device 0 when present, else the CPU; ``cuda:N`` picks N.

    A CUDA request on a machine without CUDA falls back to the CPU with a warning
    (reported by ``/health``), so a misconfigured box still serves.
    """
    wanted = (requested or "auto").strip().lower()
    if wanted == "cpu":
        return DeviceInfo("cpu", None, "cpu", requested)
    if wanted not in {"auto", "cuda"} and not wanted.startswith("cuda:"):
        raise ValueError(f"DEVICE must be auto, cpu, cuda or cuda:N, got {requested!r}")
    if not torch.cuda.is_available():
        if wanted != "auto":
            logger.warning("DEVICE=%s but CUDA is not available; running on the CPU", requested)
        return DeviceInfo("cpu", None, "cpu", requested)
    index = int(wanted.split(":", 1)[1]) if ":" in wanted else 0
    if index >= torch.cuda.device_count():
        raise ValueError(f"DEVICE={requested} but only {torch.cuda.device_count()} CUDA device(s) are visible")
    return DeviceInfo("cuda", index, torch.cuda.get_device_name(index), requested)


class MemoryMeter:
    """Reads the memory a load adds: CUDA allocator bytes on GPU, process RSS on CPU."""

    def __init__(self, device: DeviceInfo) -> None:
        self.device = device
        self.kind = "cuda_allocator" if device.is_cuda else "process_rss"
        self._process = psutil.Process()

    def read_mb(self) -> float:
        if self.device.is_cuda:
            return torch.cuda.memory_allocated(self.device.index) / MB
        return self._process.memory_info().rss / MB


def device_memory_used_gb(device: DeviceInfo) -> float:
    """Memory this process holds on its GPU (allocator reserve), 0 on CPU."""
    if not device.is_cuda:
        return 0.0
    return torch.cuda.memory_reserved(device.index) / (MB * 1024.0)


def release_memory(device: DeviceInfo) -> None:
    """Collect garbage and hand cached CUDA blocks back to the driver."""
    gc.collect()
    if device.is_cuda:
        torch.cuda.empty_cache()


M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_LOADING = 1 << 20  # weights: every tensor over 1 MB gets its own mapping
MMAP_THRESHOLD_SERVING = 32 << 20  # activations: the heap, up to glibc's own dynamic ceiling


def _set_mmap_threshold(threshold_bytes: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, threshold_bytes))
    except (OSError, AttributeError):
        return False


@contextlib.contextmanager
def returnable_allocations(device: DeviceInfo) -> Iterator[None]:
    """While a model loads on the CPU, give each large tensor its own memory mapping.

    glibc raises its mmap threshold after the first large free, so later model weights
    would come from the heap and an unload would hand nothing back (and an RSS delta
    would measure nothing). Mapped weights are returned to the system when freed.
    Inference keeps the heap (fresh mappings per activation cost ~45% on a depth
    model), so the threshold goes back up after the load. Linux glibc only.
    """
    if device.is_cuda or not _set_mmap_threshold(MMAP_THRESHOLD_LOADING):
        yield
        return
    try:
        yield
    finally:
        _set_mmap_threshold(MMAP_THRESHOLD_SERVING)


_OOM_MARKERS = ("out of memory", "failed to allocate memory", "cudaerrormemoryallocation")


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether an exception from a load or an inference means memory ran out."""
    if isinstance(exc, torch.OutOfMemoryError | MemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(marker in text for marker in _OOM_MARKERS)
