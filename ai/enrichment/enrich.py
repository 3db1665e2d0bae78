"""``/enrich``: run every hosted model that one detection triggers, concurrently; a
model that fails is reported in ``errors`` and the others still answer."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import Request
from PIL import Image

from ai.contracts.enrichment import DemographicsResult, EnrichOptions, EnrichRequest, EnrichResponse, ModelError
from ai.contracts.images import Box
from ai.enrichment.demographics import classify_age, classify_gender, find_face, head_region
from ai.enrichment.depth import object_distance
from ai.enrichment.pet import classify_pet
from ai.enrichment.pose import analyze_pose
from ai.enrichment.reid import embed_person
from ai.enrichment.scene import classify_violence, classify_weather
from ai.enrichment.service import EnrichmentService
from ai.enrichment.threat import detect_threats, summarize_threats
from ai.enrichment.vehicle import classify_vehicle
from ai.runtime.errors import ErrorCode, ServiceError
from ai.runtime.image_request import image_source, load_image, parse_body, read_payload
from ai.runtime.triggers import ENRICHMENTS, planned_models

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Detection:
    """One detection as the models see it: the crop, where it sits, the whole frame."""

    frame: Image.Image
    crop: Image.Image
    box: Box
    options: EnrichOptions

    @property
    def offset(self) -> tuple[float, float]:
        """Where the crop sits in the frame (to report coordinates in the frame)."""
        return self.box.x1, self.box.y1


@dataclass
class Outcome:
    """What the enrichments of one detection produced, model by model."""

    fields: dict[str, Any] = field(default_factory=dict)
    used: dict[str, float] = field(default_factory=dict)
    errors: dict[str, ModelError] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


async def call(service: EnrichmentService, out: Outcome, model: str, fn: Callable[..., T], *args: Any) -> T | None:
    """Run one model; a failure is recorded against the model, not raised."""
    try:
        result, ms = await service.run(model, fn, *args)
    except ServiceError as exc:
        out.errors[model] = ModelError(code=exc.code.value, message=exc.message)
        return None
    except Exception as exc:
        logger.error("enrichment %s failed", model, exc_info=exc)
        out.errors[model] = ModelError(
            code=ErrorCode.INFERENCE_FAILED.value, message=f"{model} failed: {type(exc).__name__}: {exc}"
        )
        return None
    out.used[model] = ms
    return result


async def _demographics(service: EnrichmentService, d: Detection, out: Outcome) -> None:
    """Face first (when a face detector is hosted here), then age and gender on it."""
    s = service.settings
    if "face_detector" in service.hosted:
        face = await call(service, out, "face_detector", find_face, d.crop, s.face_confidence)
        if face is None:
            if "face_detector" not in out.errors:
                for name in ("age_classifier", "gender_classifier"):
                    if name in service.hosted:
                        out.skipped[name] = "no face visible in the person crop"
            return
    else:
        face = head_region(d.crop)
    jobs: list[Awaitable[Any]] = []
    if "age_classifier" in service.hosted:
        jobs.append(call(service, out, "age_classifier", classify_age, face))
    if "gender_classifier" in service.hosted:
        jobs.append(call(service, out, "gender_classifier", classify_gender, face, s.gender_confidence))
    results = await asyncio.gather(*jobs)
    age = next((r for r in results if r is not None and hasattr(r, "age_range")), None)
    gender = next((r for r in results if r is not None and hasattr(r, "gender")), None)
    if age is not None or gender is not None:
        out.fields["demographics"] = DemographicsResult(age=age, gender=gender)


Enricher = Callable[[EnrichmentService, Detection, Outcome], Awaitable[None]]


def single_model(
    field_name: str,
    model: str,
    fn: Callable[..., Any],
    inputs: Callable[[EnrichmentService, Detection], tuple[Any, ...]],
    finish: Callable[[Any], Any] | None = None,
) -> Enricher:
    """An enrichment that runs one model and stores its (optionally finished) result."""

    async def enricher(service: EnrichmentService, d: Detection, out: Outcome) -> None:
        result = await call(service, out, model, fn, *inputs(service, d))
        if result is not None:
            out.fields[field_name] = finish(result) if finish else result

    return enricher


ENRICHERS: dict[str, Enricher] = {
    "threat": single_model(
        "threat",
        "threat_detector",
        detect_threats,
        lambda s, d: (d.crop, d.offset, s.settings.threat_confidence),
        summarize_threats,
    ),
    "pose": single_model(
        "pose",
        "pose_estimator",
        analyze_pose,
        lambda s, d: (d.crop, d.offset, s.settings.pose_confidence, s.settings.keypoint_confidence),
    ),
    "reid_embedding": single_model("reid_embedding", "person_reid", embed_person, lambda s, d: (d.crop,)),
    "pet": single_model("pet", "pet_classifier", classify_pet, lambda s, d: (d.crop,)),
    "depth": single_model(
        "depth",
        "depth_estimator",
        object_distance,
        lambda s, d: (d.frame, d.box, "median", s.settings.depth_max_distance_m),
    ),
    "vehicle": single_model("vehicle", "vehicle_classifier", classify_vehicle, lambda s, d: (d.crop,)),
    "demographics": _demographics,
    "violence": single_model("violence", "violence_detector", classify_violence, lambda s, d: (d.crop,)),
    "weather": single_model("weather", "weather_classifier", classify_weather, lambda s, d: (d.frame,)),
}


def plan(service: EnrichmentService, body: EnrichRequest) -> list[Enricher]:
    """The enrichments this detection triggers among the models hosted here."""
    wanted_here = set(planned_models(service.hosted, body.detection_type, body.options.model_dump(exclude_none=True)))
    return [ENRICHERS[name] for name, models in ENRICHMENTS.items() if wanted_here & set(models)]


async def enrich(request: Request, service: EnrichmentService) -> EnrichResponse:
    started = time.perf_counter()
    data, files = await read_payload(request)
    body = parse_body(EnrichRequest, data)
    decoded = await asyncio.to_thread(
        load_image, image_source(body, files), body.bbox, service.runtime.limits, "image", False
    )
    frame = decoded.image
    box = decoded.crop or Box(0.0, 0.0, float(frame.width), float(frame.height))
    crop = frame.crop((int(box.x1), int(box.y1), int(box.x2), int(box.y2))) if decoded.crop else frame
    detection = Detection(frame=frame, crop=crop, box=box, options=body.options)

    out = Outcome()
    await asyncio.gather(*(enricher(service, detection, out) for enricher in plan(service, body)))
    return EnrichResponse(
        detection_id=body.detection_id,
        detection_type=body.detection_type,
        **out.fields,
        models_used=[name for name in service.hosted if name in out.used],
        errors=out.errors,
        skipped=out.skipped,
        model_times_ms=out.used,
        inference_time_ms=round((time.perf_counter() - started) * 1000.0, 2),
    )
