"""Real torch modules of a chosen size, wrapped as model-manager specs."""

from __future__ import annotations

import contextlib
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch

from ai.runtime import threads
from ai.runtime.model_state import ModelSpec, Priority

MB = 1024 * 1024


_LIVE_BLOBS: weakref.WeakSet[Blob] = weakref.WeakSet()


class Blob(torch.nn.Module):
    """A torch module whose parameters take ``mb`` megabytes."""

    def __init__(self, mb: float) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(int(mb * MB / 4)), requires_grad=False)
        _LIVE_BLOBS.add(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.weight[: x.numel()] * x.flatten()[: self.weight.numel()]).sum()


class LiveTensorMeter:
    """Counts the bytes of live Blob tensors, as CUDA's allocator counts live tensors.

    Deterministic, unlike process RSS, so rule tests do not depend on what other
    tests left for the garbage collector.
    """

    kind = "live_tensor_bytes"

    def read_mb(self) -> float:
        return sum(b.weight.numel() * b.weight.element_size() for b in list(_LIVE_BLOBS)) / MB


@dataclass
class LoadLog:
    """Counts loader calls per model (thread-safe)."""

    counts: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hit(self, name: str) -> None:
        with self.lock:
            self.counts[name] = self.counts.get(name, 0) + 1


def blob_spec(
    name: str,
    mb: float,
    priority: Priority = Priority.MEDIUM,
    *,
    estimate_mb: float | None = None,
    keep_alive_s: float = 300.0,
    load_delay_s: float = 0.0,
    log: LoadLog | None = None,
    failure: Callable[[int], BaseException | None] | None = None,
) -> ModelSpec:
    """A spec whose loader builds a :class:`Blob`; ``failure(n)`` may raise on call n."""
    calls = {"n": 0}

    def load() -> Blob:
        calls["n"] += 1
        if log is not None:
            log.hit(name)
        if load_delay_s:
            time.sleep(load_delay_s)
        if failure is not None:
            error = failure(calls["n"])
            if error is not None:
                raise error
        return Blob(mb)

    return ModelSpec(
        name=name,
        priority=priority,
        estimated_mb=estimate_mb if estimate_mb is not None else mb * 1.25,
        load=load,
        keep_alive_s=keep_alive_s,
    )


def run_blob(model: Blob, value: float = 1.0, sleep_s: float = 0.0) -> float:
    """An inference: a real forward pass (optionally slow)."""
    if sleep_s:
        time.sleep(sleep_s)
    with torch.no_grad():
        return float(model(torch.full((16,), value)))


def out_of_memory() -> BaseException:
    return torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


def always(error: Callable[[], BaseException]) -> Callable[[int], BaseException | None]:
    return lambda _n: error()


def first(n_calls: int, error: Callable[[], BaseException]) -> Callable[[int], BaseException | None]:
    return lambda n: error() if n <= n_calls else None


def torch_threads_on_fresh_thread() -> int:
    """The torch thread count a thread starting work now gets (the process default)."""
    seen: list[int] = []
    worker = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    worker.start()
    worker.join()
    return seen[0]


@contextlib.contextmanager
def kept_torch_threads() -> Iterator[None]:
    """Put the process's torch thread choice back after a test that changes it."""
    before = torch.get_num_threads()
    try:
        yield
    finally:
        threads._chosen = None
        torch.set_num_threads(before)
