"""Hostile but well-formed-looking input: always a 4xx envelope, never a 500, and the
service keeps answering. Over real HTTP, on the real enrichment service and backend."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.backend.conftest import backend_client
from tests.enrichment.conftest import demo_models, enrichment_server  # noqa: F401  (fixture reuse)
from tests.support.images import b64, jpeg_bytes

GOOD = b64(jpeg_bytes(96, 96))
DEEP = 100_000


def deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def raw(body: str) -> dict[str, Any]:
    return {"content": body.encode(), "headers": {"content-type": "application/json"}}


def with_image(fields: str) -> dict[str, Any]:
    """A JSON body with a good image and ``fields`` written as raw JSON text."""
    return raw('{"image": "' + GOOD + '", ' + fields + "}")


# (name, request kwargs for POST /enrich, expected status)
SERVICE_CASES: list[tuple[str, dict[str, Any], int]] = [
    ("body nested 100k deep", raw(deep(DEEP)), 400),
    ("bbox nested 100k deep", with_image('"bbox": ' + deep(DEEP)), 400),
    ("options nested 40 deep", with_image('"options": {"x": ' + deep(40) + "}"), 422),
    ("multipart bbox nested 100k deep", {"files": {"file": ("a.jpg", b"x")}, "data": {"bbox": deep(DEEP)}}, 400),
    (
        "multipart options nested 100k deep",
        {"files": {"file": ("a.jpg", b"x")}, "data": {"options": "{" + '"a":' * 50 + "1" + "}" * 50}},
        400,
    ),
    ("lone surrogate in detection_id", with_image('"detection_id": "\\ud800"'), 422),
    ("lone surrogate in detection_type", with_image('"detection_type": "\\udfff"'), 422),
    ("lone surrogate in options", with_image('"options": {"note": "\\ud800"}'), 422),
    ("lone surrogate as options key", with_image('"options": {"\\ud800": 1}'), 422),
    ("lone surrogate in frames", with_image('"frames": ["\\ud800"]'), 422),
    ("frames that are not base64", with_image('"frames": ["not base64!"]'), 422),
    ("an empty frame", with_image('"frames": [""]'), 422),
    ("frames of numbers", with_image('"frames": [1, 2]'), 422),
    (
        "lone surrogate in a frame detection",
        with_image('"detections": [{"detection_id": "\\ud800"}]'),
        422,
    ),
]


@pytest.fixture(scope="module")
def light(demo_models: Path) -> Iterator[httpx.Client]:  # noqa: F811
    with enrichment_server("light", demo_models) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        yield http


@pytest.mark.parametrize(("name", "request_kwargs", "status"), SERVICE_CASES, ids=[c[0] for c in SERVICE_CASES])
def test_the_service_answers_malformed_input_with_a_4xx_envelope(
    light: httpx.Client, name: str, request_kwargs: dict[str, Any], status: int
) -> None:
    response = light.post("/enrich", **request_kwargs)
    assert response.status_code == status, response.text[:300]
    assert response.json()["error"]["code"] == "INVALID_REQUEST"
    assert light.post("/enrich", json={"image": GOOD, "detection_type": "dog"}).status_code == 200, "still serving"


BACKEND_CASES: list[tuple[str, dict[str, Any], int]] = [
    ("body nested 100k deep", raw(deep(DEEP)), 400),
    ("options nested 40 deep", with_image('"options": {"x": ' + deep(40) + "}"), 422),
    ("lone surrogate in detection_id", with_image('"detection_id": "\\ud800"'), 422),
    ("lone surrogate in detection_type", with_image('"detection_type": "\\ud800"'), 422),
    ("lone surrogate in options", with_image('"options": {"n": "\\ud800"}'), 422),
    ("lone surrogate in frames", with_image('"frames": ["\\ud800"]'), 422),
]


@pytest.mark.parametrize(("name", "request_kwargs", "status"), BACKEND_CASES, ids=[c[0] for c in BACKEND_CASES])
def test_the_backend_answers_malformed_input_with_a_4xx_envelope(
    tmp_path: Path, name: str, request_kwargs: dict[str, Any], status: int
) -> None:
    # Unreachable services: the input must be refused before any call is made.
    with backend_client("http://127.0.0.1:9", "http://127.0.0.1:9", tmp_path) as client:
        response = client.post("/api/enrich", **request_kwargs)
        assert response.status_code == status, response.text[:300]
        assert response.json()["error"]["code"] == "INVALID_REQUEST"
        frame = client.post("/api/enrich/frame", **request_kwargs)
        assert 400 <= frame.status_code < 500, frame.text[:300]


def test_a_newline_in_the_path_cannot_forge_an_access_log_line(
    light: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ai.access")
    forged = "/health%0a2026-01-01T00:00:00 | forged | 6.6.6.6 | POST /models/threat/unload | 200 | 1.0 | -"
    assert light.get(forged).status_code == 400, "a path with control characters is refused"
    assert light.get("/x%0d%0ay%7c%e2%80%a8z").status_code == 400
    lines = [r.getMessage() for r in caplog.records if r.name == "ai.access"]
    assert len(lines) >= 2 and all("\n" not in line and "\r" not in line and "\u2028" not in line for line in lines)
    assert any("\\n2026-01-01" in line for line in lines), "the newline is shown escaped"
    assert all(line.count(" | ") == 6 for line in lines), "no field separator can be injected"


def test_405_names_the_allowed_methods(light: httpx.Client) -> None:
    response = light.put("/enrich")
    assert response.status_code == 405 and response.headers["Allow"] == "POST"
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


def test_the_enrich_schema_says_an_image_is_required(light: httpx.Client) -> None:
    schema = light.get("/openapi.json").json()["components"]["schemas"]["EnrichRequest"]
    assert {"required": ["image"]} in schema["anyOf"]


def test_a_multipart_charset_that_decodes_to_invalid_text_is_a_400(light: httpx.Client) -> None:
    boundary = "b0undary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="x\\ud800"\r\n\r\n{{bad\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + b"\xff\xd8\r\n"
        + f"--{boundary}--\r\n".encode()
    )
    response = light.post(
        "/enrich",
        content=body,
        headers={"content-type": f"multipart/form-data; boundary={boundary}; charset=unicode_escape"},
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "INVALID_REQUEST"
