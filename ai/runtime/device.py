"""Which device a service runs on, and how memory per model is measured there."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
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


def gpu_available() -> bool:
    return torch.cuda.is_available()


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
    """Collect garbage and hand freed memory back: cached CUDA blocks to the driver,
    free heap pages to the system (the heap keeps up to 64 MB per thread while serving)."""
    gc.collect()
    if device.is_cuda:
        torch.cuda.empty_cache()
    else:
        _malloc_trim()


M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# (mmap threshold, trim threshold) in bytes.
# Loading: every tensor over 1 MB gets its own mapping; freed heap goes back (glibc's defaults).
ALLOC_LOADING = (1 << 20, 128 << 10)
# Serving: activations stay in the heap and the heap keeps its top, where glibc's own
# dynamic tuning would settle (its mmap ceiling is 32 MB, trimming at twice that).
ALLOC_SERVING = (32 << 20, 64 << 20)


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """The C library, loaded once (every load and unload asks for it)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def _set_allocation_thresholds(thresholds: tuple[int, int]) -> bool:
    libc = _libc()
    if libc is None:
        return False
    mmap_bytes, trim_bytes = thresholds
    try:
        return bool(libc.mallopt(M_MMAP_THRESHOLD, mmap_bytes)) and bool(libc.mallopt(M_TRIM_THRESHOLD, trim_bytes))
    except AttributeError:  # not glibc
        return False


def _malloc_trim() -> None:
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


@contextlib.contextmanager
def returnable_allocations(device: DeviceInfo) -> Iterator[None]:
    """While a model loads on the CPU, give each large tensor its own memory mapping.

    glibc raises its mmap threshold after the first large free, so later model weights
    would come from the heap and an unload would hand nothing back (and an RSS delta
    would measure nothing). Mapped weights are returned to the system when freed.

    Setting a threshold turns glibc's dynamic tuning off for good, so after the load
    both thresholds go where that tuning would have put them for inference. With
    fresh mappings per activation a depth model ran ~45% slower; with the default
    trim threshold every call on an inference thread handed its activations back and
    faulted them in again (depth on a person crop: 40 ms instead of 25). Linux glibc
    only; :func:`release_memory` trims the heap before a load and after an unload.
    """
    if device.is_cuda or not _set_allocation_thresholds(ALLOC_LOADING):
        yield
        return
    try:
        yield
    finally:
        _set_allocation_thresholds(ALLOC_SERVING)


_OOM_MARKERS = ("out of memory", "failed to allocate memory", "cudaerrormemoryallocation")


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether an exception from a load or an inference means memory ran out."""
    if isinstance(exc, torch.OutOfMemoryError | MemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(marker in text for marker in _OOM_MARKERS)
