"""The homelab AI API over real HTTP: the backend on loopback routing to a real CLIP
service (the real all-MiniLM-L6-v2 weights from their package) and a real Florence-2
service on demo weights. Response fields of the specification, real semantics for
embeddings, batches, multipart, and clear errors that leave the backend serving."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from ai.clip.service import ClipService
from ai.florence.service import FlorenceService
from backend.app import create_backend_app
from backend.settings import BackendSettings
from tests.backend.conftest import OTHER_SERVICES
from tests.clip.conftest import clip_models  # noqa: F401  (session fixture)
from tests.florence.conftest import florence_models  # noqa: F401  (session fixture)
from tests.support.images import jpeg_bytes, png_bytes
from tests.support.model_servers import model_server
from tests.support.server import LiveServer

JPEG = jpeg_bytes(320, 240, "navy")
PNG = png_bytes(200, 100, "yellow")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@pytest.fixture(scope="module")
def backend(clip_models: Path, florence_models: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:  # noqa: F811
    with model_server(ClipService, clip_models) as clip, model_server(FlorenceService, florence_models) as florence:
        settings = BackendSettings(
            **{**OTHER_SERVICES, "CLIP_URL": clip, "FLORENCE_URL": florence},
            ENRICHMENT_LIGHT_URL="http://127.0.0.1:9",
            ENRICHMENT_URL="http://127.0.0.1:9",
            DATA_DIR=str(tmp_path_factory.mktemp("backend-data")),
        )
        with LiveServer(create_backend_app(settings)) as server:
            yield server.url


def post(url: str, path: str, **kwargs: object) -> httpx.Response:
    return httpx.post(f"{url}{path}", timeout=120, **kwargs)


def test_embed_answers_the_specification_fields_with_384_dimensions(backend: str) -> None:
    response = post(backend, "/api/embed", json={"texts": ["a dog", "a puppy", "a spreadsheet"]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["request_id"] == response.headers["x-request-id"]
    assert body["model_used"] == "all-MiniLM-L6-v2"
    assert body["dimensions"] == 384 and body["processing_time_ms"] > 0
    dog, puppy, sheet = np.array(body["embeddings"])
    assert dog @ puppy > dog @ sheet + 0.3  # real weights: real semantics


def test_embed_accepts_its_model_by_any_of_its_names_and_refuses_others(backend: str) -> None:
    for name in ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2", "text_embedder"):
        assert post(backend, "/api/embed", json={"texts": ["x"], "model": name}).status_code == 200, name
    refused = post(backend, "/api/embed", json={"texts": ["x"], "model": "bge-large"})
    assert refused.status_code == 404
    error = refused.json()["error"]
    assert error["code"] == "MODEL_NOT_FOUND" and "all-MiniLM-L6-v2" in error["details"]["available_models"]


def test_caption_of_one_base64_image(backend: str) -> None:
    response = post(backend, "/api/caption", json={"image": b64(JPEG)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"request_id", "caption", "model_used", "processing_time_ms"}
    assert body["request_id"] == response.headers["x-request-id"]
    assert body["model_used"] == "Florence-2 Large" and isinstance(body["caption"], str)


def test_a_caption_batch_answers_in_the_order_sent_and_matches_single_calls(backend: str) -> None:
    single = [post(backend, "/api/caption", json={"image": b64(i)}).json()["caption"] for i in (JPEG, PNG)]
    batch = post(backend, "/api/caption", json={"batch": [b64(JPEG), b64(PNG)]})
    assert batch.status_code == 200, batch.text
    assert batch.json()["captions"] == single


def test_caption_takes_multipart_files_one_or_several(backend: str) -> None:
    one = post(backend, "/api/caption", files={"file": ("a.jpg", JPEG, "image/jpeg")}, data={"detail": "brief"})
    assert one.status_code == 200, one.text
    assert "caption" in one.json()
    several = post(
        backend, "/api/caption", files=[("file", ("a.jpg", JPEG, "image/jpeg")), ("file", ("b.png", PNG, "image/png"))]
    )
    assert several.status_code == 200, several.text
    assert len(several.json()["captions"]) == 2


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/api/caption", {}, 422),
        ("/api/caption", {"image": "x", "batch": ["x"]}, 422),
        ("/api/caption", {"batch": []}, 422),
        ("/api/caption", {"image": b64(b"not an image")}, 415),
        ("/api/caption", {"image": b64(JPEG), "model": "blip-base"}, 404),
        ("/api/embed", {"texts": []}, 422),
        ("/api/embed", {"texts": ["x"], "extra": 1}, 422),
    ],
)
def test_bad_input_is_a_clear_envelope_and_the_backend_keeps_serving(
    backend: str, path: str, body: dict, status: int
) -> None:
    response = post(backend, path, json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["message"]
    assert post(backend, "/api/embed", json={"texts": ["still serving"]}).status_code == 200


def test_a_service_that_is_down_is_a_503_naming_it(tmp_path: Path) -> None:
    settings = BackendSettings(
        **OTHER_SERVICES,
        ENRICHMENT_LIGHT_URL="http://127.0.0.1:9",
        ENRICHMENT_URL="http://127.0.0.1:9",
        DATA_DIR=str(tmp_path),
        ENRICHMENT_RETRY_ATTEMPTS=1,
    )
    with LiveServer(create_backend_app(settings)) as server:
        response = post(server.url, "/api/embed", json={"texts": ["x"]})
    assert response.status_code == 503, response.text
    assert "clip" in response.json()["error"]["message"]
