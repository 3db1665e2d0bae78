"""``POST /detect`` and ``POST /detect/batch``: the fleet's detection endpoints."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ai.contracts.detector import (
    DETECT,
    DETECT_BATCH,
    BatchDetectRequest,
    BatchDetectResponse,
    DetectedObject,
    DetectResponse,
)
from ai.contracts.images import XYWH
from ai.detector.frames import Detected, Frame, detect_frames
from ai.runtime.conventions import ERROR_RESPONSES
from ai.runtime.declarations import Call, CompositeEndpoint
from ai.runtime.families.tasks import Task
from ai.runtime.image_request import read_images_request
from ai.runtime.service import ServiceRuntime, get_runtime


def detected_objects(frame: Frame) -> list[DetectedObject]:
    return [
        DetectedObject(
            class_name=d.label,
            class_id=d.class_id,
            confidence=round(d.confidence, 4),
            bbox=XYWH(
                x=round(d.box.x1, 1), y=round(d.box.y1, 1), width=round(d.box.width, 1), height=round(d.box.height, 1)
            ),
        )
        for d in frame.detections
    ]


def detect_response(frame: Frame, detected: Detected) -> DetectResponse:
    return DetectResponse(
        detections=detected_objects(frame),
        inference_time_ms=detected.ms,
        image_width=frame.width,
        image_height=frame.height,
        model=detected.model,
        version=detected.version,  # type: ignore[arg-type]
    )


async def _detect(call: Call, runtime: ServiceRuntime) -> DetectResponse:
    body = call.body
    version = runtime.service.split.choose(body.camera_id)
    detected = await detect_frames(runtime, version, [call.image], body.conf_threshold, body.camera_id)
    return detect_response(detected.frames[0], detected)


DETECT_ENDPOINT = CompositeEndpoint(DETECT, {"yolo26": Task.DETECT, "yolo26_v2": Task.DETECT}, _detect)


def _batch_sources(body: BatchDetectRequest, files: dict[str, list[bytes]]) -> list[bytes | str]:
    return [*files.get("file", []), *body.images]


def batch_router() -> APIRouter:
    router = APIRouter(tags=["detector"])

    @router.post(
        DETECT_BATCH.path,
        response_model=BatchDetectResponse,
        responses=ERROR_RESPONSES,
        summary="Several images in one forward pass",
        description=DETECT_BATCH.summary,
        openapi_extra=_batch_openapi(),
    )
    async def detect_batch(request: Request) -> BatchDetectResponse:
        runtime = get_runtime(request)
        settings = runtime.service.settings
        body, images = await read_images_request(
            request, BatchDetectRequest, _batch_sources, runtime.limits, settings.max_batch_images, runtime.admission
        )
        version = runtime.service.split.choose(body.camera_id)
        detected = await detect_frames(runtime, version, images, body.conf_threshold, body.camera_id)
        return BatchDetectResponse(
            results=[detect_response(frame, detected) for frame in detected.frames],
            count=len(detected.frames),
            inference_time_ms=detected.ms,
            model=detected.model,
            version=version,
        )

    return router


def _batch_openapi() -> dict[str, object]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": BatchDetectRequest.model_json_schema()},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "file": {"type": "array", "items": {"type": "string", "format": "binary"}},
                            "conf_threshold": {"type": "number", "minimum": 0, "maximum": 1},
                            "camera_id": {"type": "string"},
                        },
                        "required": ["file"],
                    }
                },
            },
        }
    }
