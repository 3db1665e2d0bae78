"""A model in a worker process of its own (manager rule 9): when the worker exits,
every byte it held is returned to the system and the GPU driver, which an in-process
unload cannot promise (allocator caches, library arenas, leaked references).

The manager loads such a model by starting a :class:`WorkerHandle`; the handle is what
the manager leases and runs: ``run_batch`` sends the inputs over a pipe and waits for
the outputs. Unloading (keep-alive expiry included: the catalog's ``keep_alive_s`` is
the worker's idle timeout) stops the worker, gracefully and then by force. A worker
that dies mid-request raises :class:`WorkerExited` with its exit reason; the manager
then records the model as ``error`` without a back-off, so the next request starts a
new worker. Memory is the worker's own (its RSS, or its CUDA allocator on a GPU),
reported by the worker after the load.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import multiprocessing
import os
import signal
import threading
import time
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ai.runtime.backends import BackendOptions
from ai.runtime.catalog import CatalogEntry
from ai.runtime.device import DeviceInfo
from ai.runtime.errors import ErrorCode, ServiceError

logger = logging.getLogger(__name__)

START_TIMEOUT_S = 300.0
STOP_GRACE_S = 5.0
MB = 1024.0 * 1024.0


class WorkerExited(ServiceError):
    """The worker process ended while (or before) serving a request."""

    def __init__(self, model: str, reason: str) -> None:
        super().__init__(
            ErrorCode.INFERENCE_FAILED,
            f"{model}: its worker process {reason}; the next request starts a new one",
            details={"model": model, "worker": reason},
        )
        self.reason = reason


def exit_reason(code: int | None) -> str:
    if code is None:
        return "stopped answering"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name}"
    return f"exited with status {code}"


def _memory_mb(device: DeviceInfo) -> float:
    if device.is_cuda:
        import torch

        return torch.cuda.memory_reserved(device.index) / MB
    import psutil

    return psutil.Process().memory_info().rss / MB


def _serve(
    connection: Connection,
    entry: CatalogEntry,
    weights: Path,
    device: DeviceInfo,
    options: BackendOptions,
    family_module: str,
) -> None:
    """The worker's main loop: load, say so with the memory held, then answer batches
    until told to stop or the parent goes away (its end of the pipe closes)."""
    from ai.runtime.families import get_family
    from ai.runtime.threads import configure_torch_threads

    try:
        importlib.import_module(family_module)  # registers the family (it may live outside the runtime)
        if options.cpu_threads:
            configure_torch_threads(options.cpu_threads, inference_workers=1)
        family = get_family(entry.family)
        if family is None:
            raise RuntimeError(f"adapter family {entry.family!r} is not part of this build")
        family.prepare(device)
        adapter = family(entry, weights, device, options)
        adapter.load()
        connection.send(("ready", {"memory_mb": _memory_mb(device), "backend": adapter.backend}))
    except BaseException as exc:  # reported to the parent as the load's failure
        connection.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if message[0] == "stop":
            return
        _, inputs = message
        try:
            connection.send(("ok", adapter.run_batch(inputs)))
        except BaseException as exc:
            connection.send(("error", f"{type(exc).__name__}: {exc}", traceback.format_exc(limit=8)))


class WorkerHandle:
    """The parent's side of one worker: what the manager holds as the loaded model."""

    def __init__(self, entry: CatalogEntry, process: Any, connection: Connection, ready: dict[str, Any]) -> None:
        self.entry = entry
        self.process = process
        self.connection = connection
        self.memory_mb: float = float(ready.get("memory_mb", 0.0))
        self.backend = f"{ready.get('backend', 'pytorch')} (worker process)"
        self._lock = threading.Lock()  # one pass at a time over the pipe

    @property
    def pid(self) -> int:
        return int(self.process.pid)

    @classmethod
    def start(
        cls, entry: CatalogEntry, weights: Path, device: DeviceInfo, options: BackendOptions, family_module: str
    ) -> WorkerHandle:
        """Start the worker and wait until its model is loaded (blocking: the loader thread).
        ``family_module`` defines the family; the worker imports it before loading."""
        context = multiprocessing.get_context("spawn")  # never fork a process holding CUDA or threads
        parent, child = context.Pipe(duplex=True)
        process = context.Process(
            target=_serve,
            args=(child, entry, weights, device, options, family_module),
            name=f"worker-{entry.name}",
            daemon=True,
        )
        process.start()
        child.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not parent.poll(0.2):
            if not process.is_alive():
                raise RuntimeError(f"the worker of {entry.name} {exit_reason(process.exitcode)} while loading")
            if time.monotonic() > deadline:
                _stop(process, parent)
                raise RuntimeError(f"the worker of {entry.name} did not load within {START_TIMEOUT_S:.0f} s")
        status, detail = parent.recv()
        if status != "ready":
            _stop(process, parent)
            raise RuntimeError(f"the worker of {entry.name} could not load: {detail}")
        logger.info("%s runs in worker process %d (%.0f MB)", entry.name, process.pid, detail["memory_mb"])
        return cls(entry, process, parent, detail)

    def run_batch(self, inputs: list[Any]) -> list[Any]:
        with self._lock:
            try:
                self.connection.send(("run", inputs))
                answer = self.connection.recv()
            except (EOFError, OSError, BrokenPipeError) as exc:
                self.process.join(timeout=1.0)
                raise WorkerExited(self.entry.name, exit_reason(self.process.exitcode)) from exc
        if answer[0] == "ok":
            return answer[1]
        logger.error("%s failed in its worker:\n%s", self.entry.name, answer[2])
        raise RuntimeError(answer[1])

    def close(self) -> None:
        """Stop the worker: asked first, then terminated, then killed."""
        _stop(self.process, self.connection)
        logger.info("worker %d of %s stopped; %.0f MB returned", self.pid, self.entry.name, self.memory_mb)

    @property
    def alive(self) -> bool:
        return bool(self.process.is_alive())


def _stop(process: Any, connection: Connection) -> None:
    with contextlib.suppress(OSError, ValueError):  # a worker already gone has no pipe left
        connection.send(("stop",))
    process.join(timeout=STOP_GRACE_S)
    if process.is_alive():
        process.terminate()
        process.join(timeout=STOP_GRACE_S)
    if process.is_alive() and process.pid is not None:
        os.kill(process.pid, signal.SIGKILL)
        process.join(timeout=STOP_GRACE_S)
    connection.close()
