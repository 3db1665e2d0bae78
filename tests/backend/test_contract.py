"""Contract: the real client against the real light and heavy apps. Every field the
client's contract classes declare is produced by the servers, and every call parses."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin

import httpx
import pytest
from pydantic import BaseModel

from ai.contracts.enrichment import (
    DepthResponse,
    EnrichResponse,
    ObjectDistanceResponse,
    PetResponse,
    PoseResponse,
    ReidResponse,
    ThreatResponse,
    VehicleResponse,
)
from ai.contracts.enrichment_result import DetectionEnrichRequest
from ai.contracts.models import ManagerStatus
from backend.enrichment_client.client import EnrichmentClient
from backend.metrics import BackendMetrics
from backend.settings import BackendSettings
from tests.support.photos import BUS_PERSON_BOX, bus_b64

CALLS: list[tuple[str, str, dict[str, Any], type[BaseModel]]] = [
    ("light", "/pose-analyze", {"bbox": BUS_PERSON_BOX}, PoseResponse),
    ("light", "/threat-detect", {}, ThreatResponse),
    ("light", "/person-reid", {"bbox": BUS_PERSON_BOX}, ReidResponse),
    ("light", "/pet-classify", {"bbox": BUS_PERSON_BOX}, PetResponse),
    ("light", "/depth-estimate", {"bbox": BUS_PERSON_BOX}, DepthResponse),
    ("light", "/object-distance", {"bbox": BUS_PERSON_BOX, "method": "min"}, ObjectDistanceResponse),
    ("heavy", "/vehicle-classify", {}, VehicleResponse),
    ("light", "/enrich", {"bbox": BUS_PERSON_BOX, "detection_type": "person"}, EnrichResponse),
    ("heavy", "/enrich", {"bbox": BUS_PERSON_BOX, "detection_type": "person"}, EnrichResponse),
]


def declared_keys(shape: type[BaseModel]) -> set[str]:
    return {field.serialization_alias or field.alias or name for name, field in shape.model_fields.items()}


def missing_in(annotation: Any, value: Any) -> list[str]:
    """Contract fields absent from ``value``, following models, lists, dicts and optionals."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return missing_fields(annotation, value) if isinstance(value, dict) else []
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is list and isinstance(value, list) and value:
        return missing_in(args[0], value[0])
    if origin is dict and isinstance(value, dict) and value:
        return missing_in(args[1], next(iter(value.values())))
    if origin in (Union, UnionType):
        return [m for arg in args if arg is not type(None) for m in missing_in(arg, value)]
    return []


def missing_fields(shape: type[BaseModel], raw: dict[str, Any]) -> list[str]:
    """Fields the contract declares that the server's JSON lacks, at any depth."""
    missing = [f"{shape.__name__}.{key}" for key in sorted(declared_keys(shape) - set(raw))]
    for name, field in shape.model_fields.items():
        key = field.serialization_alias or field.alias or name
        missing += missing_in(field.annotation, raw.get(key))
    return missing


@pytest.mark.parametrize(("service", "path", "extra", "shape"), CALLS, ids=[f"{c[0]}{c[1]}" for c in CALLS])
def test_every_declared_field_is_produced_by_the_server(
    fleet, service: str, path: str, extra: dict, shape: type[BaseModel]
) -> None:
    light, heavy = fleet
    url = (light if service == "light" else heavy).url
    raw = httpx.post(f"{url}{path}", json={"image": bus_b64(), **extra}, timeout=120).json()
    assert missing_fields(shape, raw) == []
    shape.model_validate(raw)


def test_model_status_contract_is_what_the_services_produce(fleet) -> None:
    for server in fleet:
        raw = httpx.get(f"{server.url}/models/status", timeout=30).json()
        assert missing_fields(ManagerStatus, raw) == []
        ManagerStatus.model_validate(raw)


def test_real_client_direct_calls_against_real_services(fleet, tmp_path: Path) -> None:
    light, heavy = fleet
    settings = BackendSettings(ENRICHMENT_LIGHT_URL=light.url, ENRICHMENT_URL=heavy.url)

    async def scenario() -> None:
        client = EnrichmentClient(settings, BackendMetrics())
        try:
            image = bus_b64()
            pose = await client.pose_analyze(image, BUS_PERSON_BOX)
            assert len(pose.keypoints) == 17
            assert (await client.threat_detect(image)).threats_detected
            assert (await client.person_reid(image, BUS_PERSON_BOX)).embedding_dim == 512
            assert (await client.pet_classify(image, BUS_PERSON_BOX)).pet_type in {"cat", "dog"}
            assert (await client.depth_estimate(image, BUS_PERSON_BOX)).width == 250
            assert (await client.object_distance(image, BUS_PERSON_BOX, "center")).method == "center"
            assert (await client.vehicle_classify(image)).vehicle_type
            result = await client.enrich(
                DetectionEnrichRequest(image=image, bbox=BUS_PERSON_BOX, detection_type="person", detection_id="d1")
            )
            assert result.status == "FULL", result.errors
            assert set(result.services) == {"light", "heavy"}
            assert result.pose is not None and result.threat_detection is not None
            assert result.person_embeddings["d1"].embedding_dimension == 512
            assert result.person_embeddings["d1"].model == "osnet_x0_25"
            assert "d1" in result.age_classifications and "d1" in result.gender_classifications
        finally:
            await client.close()

    asyncio.run(scenario())


def test_the_field_check_notices_a_missing_nested_field() -> None:
    raw = {
        "keypoints": [{"name": "nose", "x": 1.0, "y": 2.0}],
        "posture": "standing",
        "alerts": [],
        "person_confidence": 0.9,
        "model": "pose_estimator",
        "inference_time_ms": 1.0,
    }
    assert missing_fields(PoseResponse, raw) == ["Keypoint.confidence"]
