"""Input that every service refuses is the caller's error (that status and envelope, not a
200 FAILED); a detection that triggers no model is SKIPPED (not FULL), and nothing is called."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.enrichment_client.merge import status_of
from tests.backend.conftest import backend_client
from tests.support.images import real_photo
from tests.support.photos import BUS_PERSON_BOX, bus_b64
from tests.support.server import LiveServer
from tests.support.stub_service import Script, error_body, frame_answer, stub_app

PERSON = {"image": bus_b64(), "bbox": BUS_PERSON_BOX, "detection_type": "person", "detection_id": "p1"}
LIGHT_MODELS = ["threat_detector", "pose_estimator", "person_reid"]
HEAVY_MODELS = ["age_classifier", "gender_classifier", "clothing_classifier"]
CODES = {400: "INVALID_REQUEST", 413: "PAYLOAD_TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE", 422: "INVALID_REQUEST"}


def refuse(status: int, code: str, message: str, **details: Any) -> Script:
    body = error_body(code, message)
    body["error"]["details"] = details
    return Script(lambda _n: (status, body, {}))


def answer(models: list[str], detections: dict[str, str] | None = None) -> Script:
    return Script(lambda _n: (200, frame_answer(detections or {"p1": "person"}, models), {}))


@contextmanager
def stubs(light: Script, heavy: Script, tmp_path: Path) -> Iterator[Any]:
    with (
        LiveServer(stub_app(light)) as light_server,
        LiveServer(stub_app(heavy)) as heavy_server,
        backend_client(light_server.url, heavy_server.url, tmp_path, ENRICHMENT_RETRY_ATTEMPTS=3) as backend,
    ):
        yield backend


@pytest.mark.parametrize("status", sorted(CODES))
def test_every_service_refusing_the_input_is_that_status_and_envelope(status: int, tmp_path: Path) -> None:
    light = refuse(status, CODES[status], "image is truncated: decoding stopped at byte 4096", field="image")
    heavy = refuse(400, "INVALID_REQUEST", "heavy says no")
    with stubs(light, heavy, tmp_path) as backend:
        one = backend.post("/api/enrich", json=PERSON, headers={"X-Request-ID": "req-1"})
        frame = backend.post(
            "/api/enrich/frame",
            json={"image": PERSON["image"], "detections": [{"detection_id": "p1", "detection_type": "person"}]},
        )
    for response in (one, frame):
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert error["code"] == CODES[status], "the first (light) service's code"
        assert error["message"] == "image is truncated: decoding stopped at byte 4096"
        assert error["details"]["service"] == "light"
        assert error["details"]["field"] == "image", "the service's own details are kept"
        assert error["details"]["services"]["heavy"] == {
            "status": 400,
            "code": "INVALID_REQUEST",
            "message": "heavy says no",
        }
    assert one.json()["error"]["request_id"] == "req-1"
    assert light.calls == ["/enrich", "/enrich"], "a 4xx is never retried"


def test_one_service_called_and_refusing_is_enough(tmp_path: Path) -> None:
    light = refuse(413, "PAYLOAD_TOO_LARGE", "too many pixels")
    heavy = answer(HEAVY_MODELS)
    dog = {**PERSON, "detection_type": "dog"}  # pet_classifier: light only
    with stubs(light, heavy, tmp_path) as backend:
        response = backend.post("/api/enrich", json=dog)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert heavy.calls == []


def test_one_service_refusing_while_the_other_answers_is_a_partial_200(tmp_path: Path) -> None:
    with stubs(refuse(415, "UNSUPPORTED_MEDIA_TYPE", "no"), answer(HEAVY_MODELS), tmp_path) as backend:
        response = backend.post("/api/enrich", json=PERSON)
    assert response.status_code == 200
    result = response.json()
    assert result["status"] == "PARTIAL"
    assert {result["errors"][m]["code"] for m in LIGHT_MODELS} == {"UNSUPPORTED_MEDIA_TYPE"}


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (401, "UNAUTHORIZED"),
        (403, "FORBIDDEN"),
        (404, "MODEL_NOT_FOUND"),
        (409, "MODEL_NOT_HOSTED"),
        (429, "RATE_LIMIT_EXCEEDED"),
    ],
)
def test_other_4xx_stay_the_models_errors_in_a_200(status: int, code: str, tmp_path: Path) -> None:
    with stubs(refuse(status, code, "no"), refuse(status, code, "no"), tmp_path) as backend:
        response = backend.post("/api/enrich", json=PERSON)
    assert response.status_code == 200
    result = response.json()
    assert result["status"] == "FAILED"
    assert {e["code"] for e in result["errors"].values()} == {code}


def test_an_input_refusal_mixed_with_an_auth_refusal_is_a_200(tmp_path: Path) -> None:
    with stubs(refuse(400, "INVALID_REQUEST", "bad"), refuse(401, "UNAUTHORIZED", "no key"), tmp_path) as backend:
        response = backend.post("/api/enrich", json=PERSON)
    assert response.status_code == 200 and response.json()["status"] == "FAILED"


def _truncated_jpeg() -> str:
    """bus.jpg cut in half: the header (size) reads fine, only a full decode fails."""
    data = real_photo("bus.jpg").read_bytes()
    return base64.b64encode(data[: len(data) // 2]).decode()


def test_a_truncated_image_against_the_real_services_is_a_4xx_envelope(fleet, tmp_path: Path) -> None:
    light, heavy = fleet
    body = {**PERSON, "image": _truncated_jpeg()}
    with backend_client(light.url, heavy.url, tmp_path) as backend:
        one = backend.post("/api/enrich", json=body)
        frame = backend.post(
            "/api/enrich/frame",
            json={"image": body["image"], "detections": [{"detection_id": "p1", "detection_type": "person"}]},
        )
        ok = backend.post("/api/enrich", json=PERSON)
    for response in (one, frame):
        assert response.status_code in CODES, response.text
        assert response.json()["error"]["code"] == CODES[response.status_code]
    assert ok.status_code == 200 and ok.json()["status"] == "FULL"


def test_a_detection_type_that_triggers_nothing_is_skipped_and_calls_nothing(tmp_path: Path) -> None:
    light, heavy = answer(LIGHT_MODELS), answer(HEAVY_MODELS)
    with stubs(light, heavy, tmp_path) as backend:
        response = backend.post("/api/enrich", json={**PERSON, "detection_type": "spaceship"})
        plain_object = backend.post("/api/enrich", json={**PERSON, "detection_type": "object"})
    assert response.status_code == 200
    result = response.json()
    assert result["status"] == "SKIPPED"
    assert result["models_used"] == [] and result["errors"] == {} and result["services"] == {}
    assert "(SKIPPED)" in result["context"] and "No enrichment ran" in result["context"]
    assert plain_object.json()["status"] == "SKIPPED", "object with default options triggers no model"
    assert light.calls == [] and heavy.calls == []


def test_an_option_that_applies_makes_it_full_again(tmp_path: Path) -> None:
    light = answer(["depth_estimator"], {"o1": "spaceship"})
    with stubs(light, answer([]), tmp_path) as backend:
        response = backend.post(
            "/api/enrich",
            json={**PERSON, "detection_type": "spaceship", "detection_id": "o1", "options": {"include_depth": True}},
        )
    assert response.json()["status"] == "FULL", "depth applies to any detection when asked for"
    assert light.calls == ["/enrich"]


def test_a_frame_mixes_skipped_and_full_and_sends_only_what_applies(tmp_path: Path) -> None:
    light, heavy = answer(LIGHT_MODELS), answer(HEAVY_MODELS)
    frame = {
        "image": PERSON["image"],
        "detections": [
            {"detection_id": "p1", "detection_type": "person", "bbox": BUS_PERSON_BOX},
            {"detection_id": "s1", "detection_type": "spaceship"},
        ],
    }
    with stubs(light, heavy, tmp_path) as backend:
        response = backend.post("/api/enrich/frame", json=frame)
    assert response.status_code == 200
    person, ship = response.json()["detections"]
    assert (person["status"], ship["status"]) == ("FULL", "SKIPPED")
    assert person["services"]["light"]["detections"] == 1, "the skipped detection was not sent"


def test_status_of_an_empty_plan_is_skipped() -> None:
    from ai.contracts.enrichment_result import EnrichmentResult

    result = EnrichmentResult(detection_id="d", detection_type="spaceship", status="SKIPPED", inference_time_ms=0)
    assert status_of([], result) == "SKIPPED"
    assert status_of(["pose_estimator"], result) == "FAILED"
    assert "SKIPPED" in EnrichmentResult.model_json_schema()["properties"]["status"]["description"]


def test_the_service_answers_a_detection_it_has_no_model_for_with_nothing_run(fleet) -> None:
    """The service-side equivalent: no status, no error, nothing run, nothing skipped."""
    light, _heavy = fleet
    body = {"image": bus_b64(), "detections": [{"detection_id": "s1", "detection_type": "spaceship"}]}
    response = httpx.post(f"{light.url}/enrich", json=body, timeout=60)
    assert response.status_code == 200
    (ship,) = response.json()["detections"]
    assert ship["models_used"] == [] and ship["errors"] == {} and ship["skipped"] == {}
    assert all(ship[f] is None for f in ("pose", "threat", "reid_embedding", "pet", "depth"))
