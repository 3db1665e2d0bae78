"""What the model manager knows about each model: its spec and its live record."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Priority(IntEnum):
    """Lower value = more important; LOW models are evicted first."""

    CRITICAL = 0
    HIGH = 1
    MEDIUM = 2
    LOW = 3


class ModelState(StrEnum):
    DISABLED = "disabled"
    UNAVAILABLE = "unavailable"
    UNLOADED = "unloaded"
    LOADING = "loading"
    LOADED = "loaded"
    ERROR = "error"


KEEP_ALIVE_PINNED = -1.0


class BatchLimits(BaseModel):
    """Dynamic batching of one model (Triton's dynamic-batcher semantics)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_batch_size: int = Field(ge=1, le=256, description="Most inputs merged into one forward pass; 1 = off")
    max_queue_delay_ms: float = Field(
        ge=0, le=1000, description="Longest an input waits for company while the model is busy"
    )


NO_BATCHING = BatchLimits(max_batch_size=1, max_queue_delay_ms=0)


def _drop(_handle: Any) -> None:
    """Default unloader: the manager drops its reference and collects garbage."""


def _run_batch(handle: Any, inputs: list[Any]) -> list[Any]:
    """Default forward pass: the loaded adapter's own ``run_batch``."""
    return handle.run_batch(inputs)


@dataclass
class ModelSpec:
    """How to load one model and how much it matters.

    ``load`` and ``unload`` are blocking and run on the manager's loader thread;
    ``prepare`` (imports) runs there first, outside the memory measurement, so a
    library's one-off import is not charged to the first model that uses it.
    ``availability`` returns None when weights can be found, else the message an
    operator needs (which command fetches them); it is asked again before each load,
    so weights pulled while the service runs are picked up. ``run_batch(handle,
    inputs)`` is one forward pass, batched by the runtime within ``batching``.
    """

    name: str
    priority: Priority
    estimated_mb: float
    load: Callable[[], Any]
    unload: Callable[[Any], None] = _drop
    prepare: Callable[[], None] | None = None
    keep_alive_s: float = 300.0
    availability: Callable[[], str | None] | None = None
    disabled_reason: str | None = None
    describe: Callable[[], dict[str, Any]] = field(default=dict)
    batching: BatchLimits = NO_BATCHING
    run_batch: Callable[[Any, list[Any]], list[Any]] = _run_batch


@dataclass
class ModelRecord:
    """Live state of one model; touched only on the event loop."""

    spec: ModelSpec
    state: ModelState = ModelState.UNLOADED
    handle: Any = None
    measured_mb: float | None = None
    freed_mb: float | None = None
    leases: int = 0
    waiters: int = 0
    last_used: float | None = None
    last_used_at: datetime | None = None
    load_count: int = 0
    consecutive_failures: int = 0
    error: str | None = None
    error_at: float | None = None
    unloading: bool = False
    load_task: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def priority(self) -> Priority:
        return self.spec.priority

    @property
    def accounted_mb(self) -> float:
        """Memory charged to the budget: the measurement once there is one."""
        return self.measured_mb if self.measured_mb is not None else self.spec.estimated_mb

    @property
    def reservation_mb(self) -> float:
        """Memory set aside before a load: the larger of estimate and last measurement."""
        return max(self.spec.estimated_mb, self.measured_mb or 0.0)

    @property
    def holds_memory(self) -> bool:
        return self.state is ModelState.LOADED or self.unloading

    def expired(self, now: float) -> bool:
        """Loaded, unleased and idle for its keep-alive (pinned models never expire)."""
        keep_alive = self.spec.keep_alive_s
        return (
            self.state is ModelState.LOADED
            and self.leases == 0
            and keep_alive >= 0
            and self.idle_seconds(now) >= keep_alive
        )

    def idle_seconds(self, now: float) -> float:
        return now - self.last_used if self.last_used is not None else float("inf")

    def touch(self) -> None:
        self.last_used = time.monotonic()
        self.last_used_at = datetime.now(UTC)
