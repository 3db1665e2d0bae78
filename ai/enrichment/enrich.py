"""``POST /enrich``: every hosted model that a frame's detections trigger, each model run
once over all the crops it is triggered for. A model that fails is reported in the
``errors`` of the detections it failed for; the others still answer."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from PIL import Image

from ai.contracts.enrichment import (
    DemographicsResult,
    EnrichRequest,
    EnrichResponse,
    FrameEnrichResponse,
    ModelError,
)
from ai.contracts.enrichment_catalog import EnrichmentEntry, enrichment_entries
from ai.contracts.enrichment_endpoints import ENRICH
from ai.contracts.enrichment_plan import ENRICHMENTS, planned_models
from ai.contracts.images import Box
from ai.enrichment.demographics import age_result, face_crop, face_input, gender_result, head_region
from ai.enrichment.depth import object_distance
from ai.enrichment.enrich_detail import DETAIL_ENRICHERS
from ai.enrichment.enrich_frame import Enrichment, Frame, Target, per_crop, per_frame
from ai.enrichment.frames import decode_frames, frame_pixels
from ai.enrichment.pet import pet_result
from ai.enrichment.pose import pose_input, pose_result
from ai.enrichment.reid import embedding_list
from ai.enrichment.scene import violence_result, weather_result
from ai.enrichment.settings import EnrichmentSettings
from ai.enrichment.threat import summarize_threats, threat_input, threat_items
from ai.enrichment.vehicle import vehicle_result
from ai.runtime.declarations import Call, CompositeEndpoint
from ai.runtime.families.tasks import Classification, Task
from ai.runtime.images import clamp_box
from ai.runtime.service import ServiceRuntime

logger = logging.getLogger(__name__)


DEMOGRAPHICS = ENRICHMENTS["demographics"]  # age, gender


async def _demographics(frame: Frame, targets: list[Target]) -> None:
    """Face first (when a face detector is hosted here), then age and gender on it."""
    settings = frame.settings
    classifiers = [name for name in DEMOGRAPHICS if name in frame.hosted]
    if "face_detector" in frame.hosted:
        found = await frame.infer(
            "face_detector", [face_input(t.crop, settings.face_confidence) for t in targets], targets
        )
        faced = []
        for target, detections in zip(targets, found, strict=True):
            face = face_crop(target.crop, detections) if detections is not None else None
            if face is not None:
                faced.append((target, face))
            elif detections is None:  # the face detector failed: so did what needed a face
                failure = target.errors["face_detector"]
                for name in classifiers:
                    target.errors[name] = ModelError(code=failure.code, message=f"no face: {failure.message}")
            else:
                for name in classifiers:
                    target.skipped[name] = "no face visible in the person crop"
    else:
        faced = [(target, head_region(target.crop)) for target in targets]
    if not faced:
        return
    people, faces = [t for t, _ in faced], [f for _, f in faced]
    jobs = [frame.infer(name, faces, people) if name in frame.hosted else _nothing(len(faces)) for name in DEMOGRAPHICS]
    ages, genders = await asyncio.gather(*jobs)

    def demographics(age: Classification | None, gender: Classification | None) -> DemographicsResult:
        return DemographicsResult(
            age=age_result(age) if age is not None else None,
            gender=gender_result(gender, settings.gender_confidence) if gender is not None else None,
        )

    for target, age, gender in zip(people, ages, genders, strict=True):
        if age is not None or gender is not None:
            result = frame.finish("age_classifier", target, demographics, age, gender)
            if result is not None:
                target.fields["demographics"] = result


async def _pose(frame: Frame, targets: list[Target]) -> None:
    """ViTPose+ for the targets that asked for it (use_vitpose) where it is hosted here,
    YOLO pose for the rest; a target that wanted both has YOLO pose skipped."""
    settings = frame.settings
    heavy = [t for t in targets if "vitpose" in t.wants]
    light = [t for t in targets if "pose_estimator" in t.wants and t not in heavy]
    for target in heavy:
        if "pose_estimator" in target.wants:
            target.skipped["pose_estimator"] = "vitpose answered (use_vitpose)"

    async def run(model: str, chosen: list[Target]) -> None:
        if not chosen:
            return
        outputs = await frame.infer(model, [pose_input(t.crop, settings) for t in chosen], chosen)
        for target, people in zip(chosen, outputs, strict=True):
            if people is not None:
                result = frame.finish(
                    model, target, pose_result, people, target.offset, settings.keypoint_confidence, model
                )
                if result is not None:
                    target.fields["pose"] = result

    await asyncio.gather(run("vitpose", heavy), run("pose_estimator", light))


async def _nothing(count: int) -> list[None]:
    return [None] * count


def _distance(frame: Frame, target: Target, depth: Any) -> Any:
    return object_distance(depth, target.box, "median", frame.settings.depth_max_distance_m)


def _crop(target: Target, _settings: EnrichmentSettings) -> Image.Image:
    return target.crop


ENRICHERS: dict[str, Enrichment] = {
    "threat": per_crop(
        "threat",
        "threat_detector",
        Task.DETECT,
        lambda t, s: threat_input(t.crop, s),
        lambda t, out, _s: summarize_threats(threat_items(out, t.offset)),
    ),
    "pose": Enrichment({"pose_estimator": Task.POSE, "vitpose": Task.POSE}, _pose),
    "reid_embedding": per_crop(
        "reid_embedding", "person_reid", Task.EMBED, _crop, lambda _t, out, _s: embedding_list(out)
    ),
    "pet": per_crop("pet", "pet_classifier", Task.CLASSIFY, _crop, lambda _t, out, _s: pet_result(out)),
    "depth": per_frame("depth", "depth_estimator", Task.DEPTH, _distance),
    "vehicle": per_crop("vehicle", "vehicle_classifier", Task.CLASSIFY, _crop, lambda _t, out, _s: vehicle_result(out)),
    "demographics": Enrichment(
        {"face_detector": Task.DETECT, "age_classifier": Task.CLASSIFY, "gender_classifier": Task.CLASSIFY},
        _demographics,
    ),
    "violence": per_crop(
        "violence", "violence_detector", Task.CLASSIFY, _crop, lambda _t, out, _s: violence_result(out)
    ),
    "weather": per_frame("weather", "weather_classifier", Task.CLASSIFY, lambda f, t, out: weather_result(out)),
    **DETAIL_ENRICHERS,
}


def _crop_pixels(call: Call) -> int:
    """Pixels the detections' crops will copy out of the frame (boxes clamped to it)."""
    width, height = call.image.image.size
    total = 0
    for item in call.body.items():
        if item.bbox is not None:
            box = item.bbox
            total += max(0, min(width, box.x2) - max(0, box.x1)) * max(0, min(height, box.y2) - max(0, box.y1))
    return int(total)


def _targets(call: Call, hosted: dict[str, EnrichmentEntry]) -> list[Target]:
    """Each detection's clamped box, crop and the hosted models it triggers (blocking)."""
    body: EnrichRequest = call.body
    frame = call.image.image
    options = body.options.model_dump(exclude_none=True)
    targets = []
    for index, item in enumerate(body.items()):
        if item.bbox is None:
            box = Box(0.0, 0.0, float(frame.width), float(frame.height))
            crop = frame
        else:
            where = "bbox" if body.detections is None else f"detections[{index}].bbox"
            box = clamp_box(frame.size, item.bbox, call.settings.image_limits, where)
            crop = frame.crop((int(box.x1), int(box.y1), int(box.x2), int(box.y2)))
        wants = set(planned_models(hosted, item.detection_type, options))
        targets.append(Target(item=item, crop=crop, box=box, wants=wants, night=bool(body.options.is_night)))
    return targets


async def enrich(call: Call, runtime: ServiceRuntime) -> EnrichResponse | FrameEnrichResponse:
    started = time.perf_counter()
    hosted = {name: entry for name, entry in enrichment_entries().items() if name in runtime.batchers}
    await runtime.admission.admit(_crop_pixels(call))  # each bbox crop is a copy of its pixels
    targets = await asyncio.to_thread(_targets, call, hosted)
    earlier: list[Image.Image] = []
    if call.body.frames and any("action_recognizer" in t.wants for t in targets):
        limits = call.settings.image_limits
        await runtime.admission.admit(await asyncio.to_thread(frame_pixels, call.body.frames, limits))
        earlier = await asyncio.to_thread(decode_frames, call.body.frames, limits)
    frame = Frame(call.image.image, targets, runtime, call.settings, set(hosted), earlier)
    jobs = []
    for name, enrichment in ENRICHERS.items():
        chosen = [t for t in targets if t.wants & set(ENRICHMENTS[name])]
        if chosen:
            jobs.append(enrichment.run(frame, chosen))
    await asyncio.gather(*jobs)
    elapsed = round((time.perf_counter() - started) * 1000.0, 2)
    answers = [
        EnrichResponse(
            detection_id=t.item.detection_id,
            detection_type=t.item.detection_type,
            **t.fields,
            models_used=[name for name in hosted if name in t.used],
            errors=t.errors,
            skipped=t.skipped,
            model_times_ms=t.used,
            inference_time_ms=elapsed,
        )
        for t in targets
    ]
    if call.body.detections is None:
        return answers[0]
    used = {name for t in targets for name in t.used}
    return FrameEnrichResponse(
        detections=answers, models_used=[n for n in hosted if n in used], inference_time_ms=elapsed
    )


ENRICH_ENDPOINT = CompositeEndpoint(
    ENRICH,
    uses={model: task for enrichment in ENRICHERS.values() for model, task in enrichment.uses.items()},
    handle=enrich,
)
