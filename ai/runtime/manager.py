"""The model manager: one per device, it owns the memory that models live in.

Rules (see docs/model-manager.md): a budget charged with measured figures, leases
that protect models in use, eviction by priority then least-recent use that never
lets a request evict a more important model, single-flight loads done one at a time
per device, keep-alive unloads, preload, out-of-memory recovery, and unloads that
really return memory. All state changes happen on the event loop; only the blocking
load, unload and inference calls run on threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from ai.contracts.models import ManagerStatus, ModelStatus, PreloadStatus
from ai.runtime.device import DeviceInfo, MemoryMeter, is_out_of_memory, release_memory, returnable_allocations
from ai.runtime.errors import ErrorCode, ServiceError
from ai.runtime.eviction import choose_victims, eviction_order
from ai.runtime.executor import BoundedExecutor
from ai.runtime.manager_status import describe_manager, describe_model
from ai.runtime.metrics import ServiceMetrics
from ai.runtime.model_state import ModelRecord, ModelSpec, ModelState
from ai.runtime.threads import reassert_torch_threads
from ai.runtime.worker import WorkerExited

logger = logging.getLogger(__name__)

T = TypeVar("T")

MAX_BACKOFF_FACTOR = 16
MAX_EVICTED_BEFORE_USE = 5


class ModelManager:
    """Loads, leases, evicts and unloads the models of one device within a budget."""

    def __init__(
        self,
        specs: Iterable[ModelSpec],
        *,
        budget_mb: float,
        device: DeviceInfo,
        executor: BoundedExecutor,
        metrics: ServiceMetrics | None = None,
        meter: MemoryMeter | None = None,
        load_wait_s: float = 10.0,
        retry_backoff_s: float = 30.0,
        retry_after_s: float = 5.0,
        unknown_model: Callable[[str], ServiceError | None] | None = None,
    ) -> None:
        self.budget_mb = float(budget_mb)
        self.device = device
        self.executor = executor
        self.metrics = metrics or ServiceMetrics("model")
        self.meter = meter or MemoryMeter(device)
        self.load_wait_s = load_wait_s
        self.retry_backoff_s = retry_backoff_s
        self.retry_after_s = retry_after_s
        self._unknown_model = unknown_model
        self.records: dict[str, ModelRecord] = {}
        for spec in specs:
            state = ModelState.DISABLED if spec.disabled_reason else ModelState.UNLOADED
            self.records[spec.name] = ModelRecord(spec=spec, state=state)
        self.preload_status = PreloadStatus(done=True)
        self._loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model-loader")
        self._memory_lock = asyncio.Lock()
        self._changed = asyncio.Event()
        self._reserved_mb = 0.0
        self._tasks: set[asyncio.Task[Any]] = set()
        self.metrics.memory_budget_mb.set(self.budget_mb)
        for name in self.records:
            self.metrics.model_loaded.labels(model=name).set(0)

    @property
    def used_mb(self) -> float:
        """Memory charged to loaded (or unloading) models plus the load in progress."""
        return sum(r.accounted_mb for r in self.records.values() if r.holds_memory) + self._reserved_mb

    @property
    def ready(self) -> bool:
        """True once every preload has loaded or failed with a recorded error."""
        return self.preload_status.done

    def record(self, name: str) -> ModelRecord:
        try:
            return self.records[name]
        except KeyError:
            explained = self._unknown_model(name) if self._unknown_model else None
            if explained is not None:
                raise explained from None
            raise ServiceError(
                ErrorCode.MODEL_NOT_FOUND,
                f"unknown model {name!r}",
                details={"model": name, "available_models": sorted(self.records)},
            ) from None

    async def load(self, name: str) -> ModelRecord:
        """Make sure ``name`` is loaded (without holding a lease on it)."""
        record = self.record(name)
        await self._wait_loaded(record)
        return record

    @contextlib.asynccontextmanager
    async def use(self, name: str) -> AsyncIterator[Any]:
        """Lease a loaded model for the duration of the block; it cannot be evicted."""
        record = self.record(name)
        await self._acquire(record)
        try:
            yield record.handle
        finally:
            self._release(record)

    async def run(self, name: str, fn: Callable[..., T], *args: Any) -> T:
        """Call ``fn(model, *args)`` on an inference thread under a lease.

        An out-of-memory error evicts what it can and retries once; a second one is
        503 ``RESOURCE_EXHAUSTED``. Any other failure is 500 ``INFERENCE_FAILED``.
        The lease lasts until the thread finishes, even if the caller goes away.
        """
        record = self.record(name)
        for attempt in (1, 2):
            await self._acquire(record)
            try:
                future = self.executor.submit(self._call, fn, record.handle, *args)
            except BaseException:
                self._release(record)
                raise
            future.add_done_callback(lambda _f: self._release(record))
            try:
                return await asyncio.shield(future)
            except WorkerExited as exc:
                self._worker_exited(record, exc)
                raise
            except ServiceError:
                raise
            except Exception as exc:
                if not is_out_of_memory(exc):
                    logger.exception("inference failed on %s", name)
                    raise ServiceError(
                        ErrorCode.INFERENCE_FAILED,
                        f"{name} failed: {type(exc).__name__}: {exc}",
                        details={"model": name},
                        sensitive=True,
                    ) from exc
                if attempt == 2:
                    raise self._exhausted(
                        f"out of memory running {name} twice, after evicting what could be evicted"
                    ) from exc
                logger.warning("out of memory running %s; evicting and retrying once", name)
                async with self._memory_lock:
                    await self._evict_all(record, reason="oom")
        raise AssertionError("unreachable")

    async def unload(self, name: str) -> ModelStatus:
        """Unload on request, waiting (bounded) for running requests to finish."""
        record = self.record(name)
        deadline = time.monotonic() + self.load_wait_s
        while record.leases > 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._exhausted(f"{name} is in use by {record.leases} request(s); try again shortly")
            await self._wait_for_change(remaining)
        if record.load_task is not None and not record.load_task.done():
            with contextlib.suppress(ServiceError):
                await asyncio.shield(record.load_task)
        async with self._memory_lock:
            await self._unload_locked(record, reason="requested")
        return self.model_status(record)

    async def preload(self, names: list[str]) -> PreloadStatus:
        """Load ``names`` in priority order; failures are recorded, never raised."""
        known = [n for n in names if n in self.records]
        ignored = [n for n in names if n not in self.records]
        if ignored:
            logger.warning("preload ignores %s: not hosted here (hosted: %s)", ignored, sorted(self.records))
        self.preload_status = PreloadStatus(requested=list(names), ignored=ignored, done=False)
        for name in sorted(known, key=lambda n: (self.records[n].priority, n)):
            try:
                await self.load(name)
                self.preload_status.loaded.append(name)
            except ServiceError as exc:
                logger.error("preload of %s failed: %s", name, exc.message)
                self.preload_status.failed[name] = exc.message
        self.preload_status.done = True
        logger.info(
            "preload finished: loaded %s, failed %s", self.preload_status.loaded, list(self.preload_status.failed)
        )
        return self.preload_status

    def start(self, preload: list[str] | None = None) -> None:
        """Start the keep-alive task and, if asked, the preload (readiness waits on it)."""
        self._spawn(self._keep_alive_loop())
        if preload:
            self.preload_status = PreloadStatus(requested=list(preload), done=False)
            self._spawn(self.preload(preload))

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        for record in self.records.values():
            if record.load_task is not None:
                record.load_task.cancel()
            if hasattr(record.handle, "pid"):  # a worker process: stop it with the service
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(record.spec.unload, record.handle)
        self._loader.shutdown(wait=False, cancel_futures=True)
        self.executor.shutdown()

    def model_status(self, record: ModelRecord) -> ModelStatus:
        return describe_model(record, self.meter.kind)

    def status(self) -> ManagerStatus:
        return describe_manager(
            list(self.records.values()),
            budget_mb=self.budget_mb,
            used_mb=self.used_mb,
            device=self.device.torch_device,
            memory_measure=self.meter.kind,
            preload=self.preload_status,
        )

    async def _acquire(self, record: ModelRecord) -> None:
        await self._wait_loaded(record)
        # No await between the check in _wait_loaded and here: the lease is atomic.
        record.leases += 1
        record.touch()

    def _release(self, record: ModelRecord) -> None:
        record.leases -= 1
        record.touch()
        self._notify()
        if record.leases == 0 and record.spec.keep_alive_s == 0:
            self._spawn(self._expire(record))

    async def _wait_loaded(self, record: ModelRecord) -> None:
        for _ in range(MAX_EVICTED_BEFORE_USE):
            if record.state is ModelState.LOADED and not record.unloading:
                return
            if record.load_task is None or record.load_task.done():
                self._check_loadable(record)
                self._set_state(record, ModelState.LOADING)
                record.load_task = asyncio.create_task(self._load(record), name=f"load-{record.name}")
                record.load_task.add_done_callback(_consume_exception)
            record.waiters += 1
            try:
                await asyncio.shield(record.load_task)
            finally:
                record.waiters -= 1
        raise self._exhausted(f"{record.name} was evicted {MAX_EVICTED_BEFORE_USE} times before it could be used")

    def _check_loadable(self, record: ModelRecord) -> None:
        spec = record.spec
        if record.state is ModelState.DISABLED:
            raise ServiceError(
                ErrorCode.MODEL_DISABLED,
                f"{spec.name} is disabled: {spec.disabled_reason}",
                details={"model": spec.name, "state": "disabled"},
            )
        if record.state is ModelState.ERROR and record.error_at is not None:
            wait = self._backoff(record) - (time.monotonic() - record.error_at)
            if wait > 0:
                raise ServiceError(
                    ErrorCode.MODEL_LOAD_FAILED,
                    f"{spec.name} failed to load: {record.error} (next attempt in {wait:.0f}s)",
                    details={"model": spec.name, "error": record.error},
                    retry_after=wait,
                    sensitive=True,
                )
        missing = spec.availability() if spec.availability else None
        if missing:
            self._set_state(record, ModelState.UNAVAILABLE)
            record.error = missing
            raise ServiceError(ErrorCode.MODEL_NOT_AVAILABLE, missing, details={"model": spec.name}, sensitive=True)

    def _backoff(self, record: ModelRecord) -> float:
        factor = min(2 ** max(0, record.consecutive_failures - 1), MAX_BACKOFF_FACTOR)
        return self.retry_backoff_s * factor

    async def _load(self, record: ModelRecord) -> None:
        name = record.name
        try:
            deadline = time.monotonic() + self.load_wait_s
            while True:
                async with self._memory_lock:
                    if await self._make_room(record.reservation_mb, record):
                        await self._load_locked(record)
                        return
                # Wait for leases to end outside the lock, so other loads go on meanwhile.
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._no_room(record, record.reservation_mb)
                await self._wait_for_change(remaining)
        except ServiceError as exc:
            self._record_failure(record, exc)
            raise
        except Exception as exc:
            logger.exception("loading %s failed", name)
            record.consecutive_failures += 1
            record.error = f"{type(exc).__name__}: {exc}"
            record.error_at = time.monotonic()
            self._set_state(record, ModelState.ERROR)
            self.metrics.model_load_failures.labels(model=name, reason="error").inc()
            raise ServiceError(
                ErrorCode.MODEL_LOAD_FAILED,
                f"{name} failed to load: {record.error}",
                details={"model": name, "error": record.error},
                retry_after=self._backoff(record),
                sensitive=True,
            ) from exc
        finally:
            self._update_memory_gauge()
            self._notify()

    async def _load_locked(self, record: ModelRecord) -> None:
        """Load with room already made; caller holds the memory lock."""
        name = record.name
        self._reserved_mb = record.reservation_mb
        try:
            handle, measured, seconds = await self._load_once_or_twice(record)
        finally:
            self._reserved_mb = 0.0
        record.handle = handle
        record.measured_mb = measured
        record.load_count += 1
        record.consecutive_failures = 0
        record.error = None
        record.touch()
        self._set_state(record, ModelState.LOADED)
        logger.info("loaded %s in %.2fs (%.0f MB by %s)", name, seconds, measured, self.meter.kind)
        self.metrics.model_loads.labels(model=name).inc()
        self.metrics.model_load_seconds.labels(model=name).observe(seconds)
        self.metrics.model_loaded.labels(model=name).set(1)
        self.metrics.model_memory_mb.labels(model=name).set(measured)
        # The measured figure may exceed the estimate: evict to make up, or give the room back.
        if not await self._make_room(0.0, record):
            await self._unload_locked(record, reason="over_budget")
            raise self._no_room(record, measured)

    def _record_failure(self, record: ModelRecord, exc: ServiceError) -> None:
        record.error = exc.message
        if record.state is ModelState.LOADED:
            return
        if exc.code is ErrorCode.MODEL_NOT_AVAILABLE:
            self._set_state(record, ModelState.UNAVAILABLE)
        elif exc.code is ErrorCode.RESOURCE_EXHAUSTED:
            # Not the model's fault: leave it loadable, keep the reason for status.
            self._set_state(record, ModelState.UNLOADED)
        else:
            record.consecutive_failures += 1
            record.error_at = time.monotonic()
            self._set_state(record, ModelState.ERROR)
        self.metrics.model_load_failures.labels(model=record.name, reason=exc.code.value.lower()).inc()

    async def _load_once_or_twice(self, record: ModelRecord) -> tuple[Any, float, float]:
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            started = time.perf_counter()
            try:
                handle, measured = await loop.run_in_executor(self._loader, self._measured_load, record.spec)
            except Exception as exc:
                if not is_out_of_memory(exc):
                    raise
                await loop.run_in_executor(self._loader, release_memory, self.device)
                if attempt == 2:
                    raise self._exhausted(
                        f"out of memory loading {record.name} twice, after evicting what could be evicted"
                    ) from exc
                logger.warning("out of memory loading %s; evicting and retrying once", record.name)
                await self._evict_all(record, reason="oom")
                continue
            return handle, measured, time.perf_counter() - started
        raise AssertionError("unreachable")

    def _measured_load(self, spec: ModelSpec) -> tuple[Any, float]:
        """Load on the loader thread; garbage is collected first so that memory freed
        by unrelated objects during the load does not shrink the measured delta."""
        if spec.prepare is not None:
            spec.prepare()
        release_memory(self.device)
        with returnable_allocations(self.device):
            before = self.meter.read_mb()
            try:
                handle = spec.load()
            finally:
                reassert_torch_threads()
            own = getattr(handle, "memory_mb", None)  # a worker process reports what it holds itself
            return handle, float(own) if own is not None else max(0.0, self.meter.read_mb() - before)

    async def _make_room(self, need_mb: float, record: ModelRecord) -> bool:
        """Evict so that ``need_mb`` more fits; False when it cannot fit right now.

        Caller holds the memory lock. Evicts nothing unless the eviction makes it fit;
        a need larger than the whole budget fails at once.
        """
        if need_mb > self.budget_mb:
            raise ServiceError(
                ErrorCode.RESOURCE_EXHAUSTED,
                f"{record.name} needs ~{need_mb:.0f} MB but the whole budget is {self.budget_mb:.0f} MB; "
                "raise VRAM_BUDGET_MB or host the model on a larger device",
                details={"model": record.name, "required_mb": need_mb, "budget_mb": self.budget_mb},
            )
        others = [r for r in self.records.values() if r is not record]
        free = self.budget_mb - self.used_mb
        victims = choose_victims(others, need_mb, free, record.priority, time.monotonic())
        if victims is None:
            return False
        for victim in victims:
            await self._unload_locked(victim, reason="evicted")
        return True

    def _no_room(self, record: ModelRecord, need_mb: float) -> ServiceError:
        free = max(0.0, self.budget_mb - self.used_mb)
        holders = [
            f"{r.name} ({r.priority.name}, leases={r.leases})"
            for r in self.records.values()
            if r is not record and r.holds_memory
        ]
        return self._exhausted(
            f"no room for {record.name}: needs {need_mb:.0f} MB, {free:.0f} MB free of {self.budget_mb:.0f} MB; "
            f"held by models in use or more important: {', '.join(holders) or 'none'}",
            model=record.name,
        )

    async def _evict_all(self, record: ModelRecord, reason: str) -> None:
        """Evict every model the rules let ``record`` evict (out-of-memory recovery)."""
        now = time.monotonic()
        others = [r for r in self.records.values() if r is not record]
        for victim in eviction_order(others, record.priority, now):
            await self._unload_locked(victim, reason=reason)

    async def _unload_locked(self, record: ModelRecord, reason: str) -> None:
        """Unload one unleased model; caller holds the memory lock."""
        if record.state is not ModelState.LOADED or record.leases > 0:
            return
        box = [record.handle]
        worker_mb = getattr(record.handle, "memory_mb", None)  # returned whole when the worker exits
        record.handle = None
        record.unloading = True
        self._set_state(record, ModelState.UNLOADED)
        before = self.meter.read_mb()
        try:
            await asyncio.get_running_loop().run_in_executor(self._loader, self._dispose, record.spec, box)
        finally:
            record.unloading = False
            returned = max(0.0, before - self.meter.read_mb())
            record.freed_mb = float(worker_mb) if worker_mb is not None else returned
            logger.info("unloaded %s (%s); %.0f MB returned", record.name, reason, record.freed_mb)
            self.metrics.model_unloads.labels(model=record.name, reason=reason).inc()
            self.metrics.model_loaded.labels(model=record.name).set(0)
            self.metrics.model_memory_mb.labels(model=record.name).set(0)
            self._update_memory_gauge()
            self._notify()

    def _dispose(self, spec: ModelSpec, box: list[Any]) -> None:
        handle = box.pop()
        try:
            spec.unload(handle)
        except Exception:
            logger.exception("unloader of %s raised; dropping the model anyway", spec.name)
        del handle
        release_memory(self.device)

    def _worker_exited(self, record: ModelRecord, exc: WorkerExited) -> None:
        """A worker died under a request: its memory is gone with it, the model is in
        ``error`` with the exit reason, and the next request starts a new worker (no
        back-off: the crash was the process's, not the weights')."""
        if record.handle is None or getattr(record.handle, "alive", True):
            return  # already handled by another request of the same pass
        logger.error("%s: %s", record.name, exc.message)
        record.freed_mb = getattr(record.handle, "memory_mb", None)
        record.handle = None
        record.error = exc.message
        record.error_at = None
        self._set_state(record, ModelState.ERROR)
        self.metrics.model_loaded.labels(model=record.name).set(0)
        self.metrics.model_memory_mb.labels(model=record.name).set(0)
        self.metrics.model_load_failures.labels(model=record.name, reason="worker_exited").inc()
        self._update_memory_gauge()
        self._notify()

    async def _expire(self, record: ModelRecord) -> None:
        async with self._memory_lock:
            if record.expired(time.monotonic()):  # checked again under the lock
                await self._unload_locked(record, reason="idle")

    async def _keep_alive_loop(self) -> None:
        positive = [r.spec.keep_alive_s for r in self.records.values() if r.spec.keep_alive_s > 0]
        tick = min(max(min(positive, default=60.0) / 4.0, 0.05), 5.0)
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            for record in [r for r in self.records.values() if r.expired(now)]:
                await self._expire(record)

    @staticmethod
    def _call(fn: Callable[..., T], handle: Any, *args: Any) -> T:
        try:
            return fn(handle, *args)
        finally:
            reassert_torch_threads()  # Ultralytics resets it on its first predict

    def _exhausted(self, message: str, **details: Any) -> ServiceError:
        return ServiceError(
            ErrorCode.RESOURCE_EXHAUSTED,
            message,
            details={"budget_mb": self.budget_mb, "used_mb": round(self.used_mb, 1), **details},
            retry_after=self.retry_after_s,
        )

    def _set_state(self, record: ModelRecord, state: ModelState) -> None:
        if record.state is state:
            return
        logger.debug("%s: %s -> %s", record.name, record.state.value, state.value)
        record.state = state
        self.metrics.model_state_transitions.labels(model=record.name, state=state.value).inc()

    def _update_memory_gauge(self) -> None:
        self.metrics.memory_used_mb.set(self.used_mb)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_for_change(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_consume_exception)


def _consume_exception(task: asyncio.Task[Any]) -> None:
    """Mark a background task's exception as seen (callers get it through await)."""
    if not task.cancelled():
        task.exception()
