"""``POST /v1/predict`` and ``POST /v2/predict``: one model version each, in the MLOps
specification's response shape (corner boxes, seconds, the request id)."""

from __future__ import annotations

from ai.contracts.detector import PREDICT, PredictDetection, PredictResponse
from ai.detector.frames import detect_frames
from ai.runtime.context import current_request_id
from ai.runtime.declarations import Call, CompositeEndpoint
from ai.runtime.families.tasks import Task
from ai.runtime.service import ServiceRuntime


def _handler(version: str, model: str) -> CompositeEndpoint:
    async def predict(call: Call, runtime: ServiceRuntime) -> PredictResponse:
        body = call.body
        detected = await detect_frames(runtime, version, [call.image], body.conf_threshold, body.camera_id)
        frame = detected.frames[0]
        return PredictResponse(
            request_id=current_request_id() or "",
            version=version,  # type: ignore[arg-type]
            detections=[
                PredictDetection(
                    class_id=d.class_id,
                    class_name=d.label,
                    confidence=round(d.confidence, 4),
                    bbox=[round(v, 1) for v in d.box],
                )
                for d in frame.detections
            ],
            inference_time=round(detected.ms / 1000.0, 5),
            image_shape=[frame.height, frame.width, 3],
            confidence_threshold=call.settings.confidence if body.conf_threshold is None else body.conf_threshold,
        )

    return CompositeEndpoint(PREDICT[version], {model: Task.DETECT}, predict)


PREDICT_ENDPOINTS = (_handler("v1", "yolo26"), _handler("v2", "yolo26_v2"))
