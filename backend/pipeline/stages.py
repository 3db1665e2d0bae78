"""How a stage of the frame pipeline is run and reported: its time, its outcome, and a
failure turned into the stage's error instead of an exception, so a service that is
down costs the event that service's part and nothing else."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import ValidationError

from ai.contracts.events import StageResult
from ai.runtime.errors import ServiceError
from backend.enrichment_client.errors import EnrichmentCallError
from backend.metrics import BackendMetrics
from backend.storage.recorder import LatencyRecorder

T = TypeVar("T")
# What a stage's value says of it: (status, error code, error), e.g. ("partial", ...).
Judge = Callable[[T], tuple[str, str | None, str | None]]

PIPELINE_SERVICE = "pipeline"
ANALYZE_PATH = "/api/analyze"


def failure(exc: Exception) -> tuple[str, str]:
    """(code, message) of a service that did not give a usable answer; anything else is
    a bug and is raised again."""
    if isinstance(exc, EnrichmentCallError):
        return exc.code, f"{exc.service}: {exc.code}: {exc.message}"
    if isinstance(exc, ServiceError):
        return exc.code.value, f"{exc.code.value}: {exc.message}"
    if isinstance(exc, ValidationError):  # an answer that is not the contract's shape (version skew)
        return "BAD_RESPONSE", f"BAD_RESPONSE: the answer does not match the contract: {exc.errors()[:2]}"
    raise exc


def stage_key(stage: str) -> str:
    """The stage's name in the latency history (beside the models' names)."""
    return f"pipeline.{stage}"


class StageRunner:
    """Runs stages and records each one's time in the metrics and the latency history."""

    def __init__(self, metrics: BackendMetrics, recorder: LatencyRecorder | None) -> None:
        self.metrics = metrics
        self.recorder = recorder

    async def run(self, stage: str, work: Awaitable[T], judge: Judge[T] | None = None) -> tuple[T | None, StageResult]:
        """``work``'s value and its result: ok (or what ``judge`` makes of the value, e.g.
        partial), or None and a failed result naming the cause."""
        started = time.perf_counter()
        try:
            value = await work
        except Exception as exc:
            code, error = failure(exc)
            return None, self.done(stage, started, "failed", code, error)
        status, code, error = judge(value) if judge is not None else ("ok", None, None)
        return value, self.done(stage, started, status, code, error)

    def done(
        self, stage: str, started: float, status: str, code: str | None = None, error: str | None = None
    ) -> StageResult:
        """Record a stage that ended now (``status`` may be corrected later, e.g. to partial)."""
        ms = round((time.perf_counter() - started) * 1000.0, 2)
        self.metrics.pipeline_stage_seconds.labels(stage=stage).observe(ms / 1000.0)
        if status == "failed":
            self.metrics.pipeline_stage_failures.labels(stage=stage, code=code or "ERROR").inc()
        if self.recorder is not None and status != "skipped":
            self.recorder.record(stage_key(stage), PIPELINE_SERVICE, ANALYZE_PATH, ms, status != "failed")
        return StageResult(status=status, latency_ms=ms, error=error)  # type: ignore[arg-type]

    @staticmethod
    def skipped(reason: str) -> StageResult:
        return StageResult(status="skipped", latency_ms=0.0, error=reason)
