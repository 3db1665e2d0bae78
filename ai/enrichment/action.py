"""``POST /action-recognize``: what a person is doing over a short clip (X-CLIP)."""

from __future__ import annotations

import asyncio

from ai.contracts.enrichment_detail import ActionResponse
from ai.contracts.enrichment_endpoints import ACTION
from ai.enrichment.action_rules import action_result
from ai.enrichment.frames import crop_clip, decode_frames, frame_pixels
from ai.runtime.declarations import Call, CompositeEndpoint
from ai.runtime.families.tasks import FramesInput, Task
from ai.runtime.service import ServiceRuntime

MODEL = "action_recognizer"


async def _recognize(call: Call, runtime: ServiceRuntime) -> ActionResponse:
    limits = call.settings.image_limits
    await runtime.admission.admit(await asyncio.to_thread(frame_pixels, call.body.frames, limits))
    earlier = await asyncio.to_thread(decode_frames, call.body.frames, limits)
    clip = [*crop_clip(earlier, call.image.crop, call.image.source_size), call.image.image]
    inference = await runtime.infer_one(MODEL, FramesInput(clip))
    return ActionResponse(**action_result(inference.output, len(clip)).model_dump(), inference_time_ms=inference.ms)


ACTION_ENDPOINT = CompositeEndpoint(ACTION, {MODEL: Task.CLASSIFY_FRAMES}, _recognize, crop=True)
