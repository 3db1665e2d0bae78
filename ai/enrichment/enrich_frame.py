"""The machinery of ``/enrich``: a frame's targets (each detection's crop and what it
triggers), running a model over the targets that want it in one request to its batcher,
and the two common shapes of an enrichment (one model per crop, one model per frame)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from ai.contracts.enrichment import DetectionItem, ModelError
from ai.contracts.images import Box
from ai.enrichment.settings import EnrichmentSettings
from ai.runtime.batcher import Inference
from ai.runtime.errors import ErrorCode, ServiceError
from ai.runtime.families.tasks import Task
from ai.runtime.redact import for_caller
from ai.runtime.service import ServiceRuntime

logger = logging.getLogger(__name__)


@dataclass
class Target:
    """One detection as the models see it: its crop, where it sits, what it triggers,
    and what its enrichments produced, model by model."""

    item: DetectionItem
    crop: Image.Image
    box: Box
    wants: set[str]
    fields: dict[str, Any] = field(default_factory=dict)
    used: dict[str, float] = field(default_factory=dict)
    errors: dict[str, ModelError] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    night: bool = False  # the request's is_night: clothing and damage read differently at night

    @property
    def offset(self) -> tuple[float, float]:
        return self.box.x1, self.box.y1


@dataclass
class Frame:
    """One /enrich request: the frame, its targets, and the models hosted here."""

    image: Image.Image
    targets: list[Target]
    runtime: ServiceRuntime
    settings: EnrichmentSettings
    hosted: set[str]
    earlier: list[Image.Image] = field(default_factory=list)  # the request's decoded `frames`, oldest first

    async def infer(self, model: str, items: list[Any], targets: list[Target]) -> list[Any]:
        """Run ``items`` (one per target) through ``model`` in one request to its batcher;
        each target records the model's time or its error. Outputs, None where it failed."""
        try:
            results = await self.runtime.infer(model, items)
        except ServiceError as exc:  # refused as a whole (queue full, ...)
            results = [exc] * len(items)
        outputs = []
        for target, result in zip(targets, results, strict=True):
            if isinstance(result, Inference):
                target.used[model] = result.ms
                outputs.append(result.output)
            else:
                message = for_caller(result.message) if result.sensitive else result.message
                target.errors[model] = ModelError(code=result.code.value, message=message or "")
                outputs.append(None)
        return outputs

    @staticmethod
    def finish(model: str, target: Target, fn: Callable[..., Any], *args: Any) -> Any | None:
        """Post-processing of one target's output; a failure is that model's error there."""
        try:
            return fn(*args)
        except Exception as exc:
            logger.exception("post-processing of %s failed", model)
            message = f"{model}: post-processing failed: {type(exc).__name__}: {exc}"
            target.errors[model] = ModelError(code=ErrorCode.INFERENCE_FAILED.value, message=for_caller(message) or "")
            return None


@dataclass(frozen=True)
class Enrichment:
    """One field of the answer: the models it runs (helpers included) and how."""

    uses: dict[str, Task]
    run: Callable[[Frame, list[Target]], Awaitable[None]]


def per_crop(
    field_name: str,
    model: str,
    task: Task,
    prepare: Callable[[Target, EnrichmentSettings], Any],
    finish: Callable[[Target, Any, EnrichmentSettings], Any],
) -> Enrichment:
    """An enrichment that runs one model on each target's crop."""

    async def run(frame: Frame, targets: list[Target]) -> None:
        outputs = await frame.infer(model, [prepare(t, frame.settings) for t in targets], targets)
        for target, output in zip(targets, outputs, strict=True):
            if output is not None:
                result = frame.finish(model, target, finish, target, output, frame.settings)
                if result is not None:
                    target.fields[field_name] = result

    return Enrichment({model: task}, run)


def per_frame(field_name: str, model: str, task: Task, finish: Callable[[Frame, Target, Any], Any]) -> Enrichment:
    """An enrichment that runs one model once on the whole frame, shared by every target."""

    async def run(frame: Frame, targets: list[Target]) -> None:
        (output,) = await frame.infer(model, [frame.image], targets[:1])
        first = targets[0]
        for target in targets[1:]:  # the one pass served them all
            if model in first.used:
                target.used[model] = first.used[model]
            if model in first.errors:
                target.errors[model] = first.errors[model]
        if output is None:
            return
        results = await asyncio.to_thread(lambda: [frame.finish(model, t, finish, frame, t, output) for t in targets])
        for target, result in zip(targets, results, strict=True):
            if result is not None:
                target.fields[field_name] = result

    return Enrichment({model: task}, run)
