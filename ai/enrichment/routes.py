"""The enrichment endpoints; the same on both roles (a model the role does not host
answers 409 ``MODEL_NOT_HOSTED`` naming the variable that moves it)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from ai.contracts.enrichment import (
    DepthResponse,
    EnrichRequest,
    EnrichResponse,
    ObjectDistanceRequest,
    ObjectDistanceResponse,
    PetRequest,
    PetResponse,
    PoseResponse,
    ReidResponse,
    ThreatResponse,
    VehicleResponse,
)
from ai.contracts.images import ImageRequest
from ai.enrichment.depth import estimate_depth, object_distance
from ai.enrichment.distance import depth_png_base64
from ai.enrichment.enrich import enrich
from ai.enrichment.pet import classify_pet
from ai.enrichment.pose import analyze_pose
from ai.enrichment.reid import embed_person
from ai.enrichment.service import EnrichmentService, get_enrichment
from ai.enrichment.threat import detect_threats
from ai.enrichment.vehicle import classify_vehicle
from ai.runtime.image_request import DecodedImage, image_request_openapi, read_image_request
from ai.runtime.routes import ERROR_RESPONSES

router = APIRouter(tags=["enrichment"])
M = TypeVar("M", bound=ImageRequest)


def _post(path: str, response: type[BaseModel], schema: type[BaseModel] = ImageRequest) -> Callable[..., Any]:
    """An endpoint that reads an image request (JSON or multipart) itself."""
    return router.post(
        path, response_model=response, responses=ERROR_RESPONSES, openapi_extra=image_request_openapi(schema)
    )


async def _read(
    request: Request, service: EnrichmentService, model: str, schema: type[M] = ImageRequest, crop: bool = True
) -> tuple[M, DecodedImage]:
    """Refuse a model this role does not host before reading the body, then read it."""
    service.require(model)
    return await read_image_request(request, schema, service.runtime.limits, crop=crop)


def _offset(decoded: DecodedImage) -> tuple[float, float]:
    return (decoded.crop.x1, decoded.crop.y1) if decoded.crop else (0.0, 0.0)


@_post("/pose-analyze", PoseResponse)
async def pose_analyze(request: Request, service: EnrichmentService = Depends(get_enrichment)) -> PoseResponse:
    """17 COCO keypoints of the most confident person, posture and alerts (image coordinates)."""
    _body, decoded = await _read(request, service, "pose_estimator")
    s = service.settings
    result, ms = await service.run(
        "pose_estimator", analyze_pose, decoded.image, _offset(decoded), s.pose_confidence, s.keypoint_confidence
    )
    return PoseResponse(**result.model_dump(), inference_time_ms=ms)


@_post("/threat-detect", ThreatResponse)
async def threat_detect(request: Request, service: EnrichmentService = Depends(get_enrichment)) -> ThreatResponse:
    """Weapons (knife, gun, ...) with type and severity."""
    _body, decoded = await _read(request, service, "threat_detector")
    items, ms = await service.run(
        "threat_detector", detect_threats, decoded.image, _offset(decoded), service.settings.threat_confidence
    )
    return ThreatResponse(
        threats_detected=items,
        is_threat=bool(items),
        max_confidence=max((item.confidence for item in items), default=0.0),
        inference_time_ms=ms,
    )


@_post("/person-reid", ReidResponse)
async def person_reid(request: Request, service: EnrichmentService = Depends(get_enrichment)) -> ReidResponse:
    """A 512-d L2-normalised appearance embedding of a person crop."""
    _body, decoded = await _read(request, service, "person_reid")
    embedding, ms = await service.run("person_reid", embed_person, decoded.image)
    return ReidResponse(
        embedding=embedding,
        embedding_dim=len(embedding),
        model=service.hosted["person_reid"].source_ref,
        inference_time_ms=ms,
    )


@_post("/pet-classify", PetResponse, PetRequest)
async def pet_classify(request: Request, service: EnrichmentService = Depends(get_enrichment)) -> PetResponse:
    """Cat or dog, breed where the classifier knows it, and whether it is a pet at all."""
    _body, decoded = await _read(request, service, "pet_classifier", PetRequest)
    result, ms = await service.run("pet_classifier", classify_pet, decoded.image)
    return PetResponse(**result.model_dump(), inference_time_ms=ms)


@_post("/depth-estimate", DepthResponse)
async def depth_estimate(request: Request, service: EnrichmentService = Depends(get_enrichment)) -> DepthResponse:
    """A depth map of the image (or its bbox crop) as a PNG, with statistics."""
    _body, decoded = await _read(request, service, "depth_estimator")
    depth, ms = await service.run("depth_estimator", estimate_depth, decoded.image)
    values = depth.values
    png = await asyncio.to_thread(depth_png_base64, values)  # ~13 ms for a person crop: not on the event loop
    return DepthResponse(
        depth_map_base64=png,
        min_depth=round(float(values.min()), 4),
        max_depth=round(float(values.max()), 4),
        mean_depth=round(float(values.mean()), 4),
        is_metric=depth.is_metric,
        width=int(values.shape[1]),
        height=int(values.shape[0]),
        inference_time_ms=ms,
    )


@_post("/object-distance", ObjectDistanceResponse, ObjectDistanceRequest)
async def distance(request: Request, service: EnrichmentService = Depends(get_enrichment)) -> ObjectDistanceResponse:
    """Distance to the object in ``bbox`` (center, mean, median or min of its depth)."""
    body, decoded = await _read(request, service, "depth_estimator", ObjectDistanceRequest, crop=False)
    result, ms = await service.run(
        "depth_estimator", object_distance, decoded.image, body.bbox, body.method, service.settings.depth_max_distance_m
    )
    return ObjectDistanceResponse(**result.model_dump(), inference_time_ms=ms)


@_post("/vehicle-classify", VehicleResponse)
async def vehicle_classify(request: Request, service: EnrichmentService = Depends(get_enrichment)) -> VehicleResponse:
    """Vehicle type (11 segment classes), display name, commercial or not, all scores."""
    _body, decoded = await _read(request, service, "vehicle_classifier")
    result, ms = await service.run("vehicle_classifier", classify_vehicle, decoded.image)
    return VehicleResponse(**result.model_dump(), inference_time_ms=ms)


@_post("/enrich", EnrichResponse, EnrichRequest)
async def enrich_detection(request: Request, service: EnrichmentService = Depends(get_enrichment)) -> EnrichResponse:
    """Run every model this instance hosts that the detection type triggers."""
    return await enrich(request, service)
