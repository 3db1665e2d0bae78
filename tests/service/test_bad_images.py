"""Every kind of bad image input gets the right 4xx envelope and loses nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.images import b64, float_rgb_tiff, jpeg_bytes, noise_bytes, png_bomb, png_bytes
from tests.support.server import LiveServer
from tests.support.torch_models import blob_spec
from tests.support.toy_service import toy_app

GOOD = b64(png_bytes(64, 48))


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    app = toy_app([blob_spec("m", 1)], VRAM_BUDGET_MB=100)
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


CASES: list[tuple[str, dict[str, Any], int, str]] = [
    ("not base64", {"json": {"image": "this is not base64!"}}, 400, "INVALID_REQUEST"),
    ("truncated png", {"json": {"image": b64(png_bytes(256, 256, "green")[:120])}}, 400, "INVALID_REQUEST"),
    ("truncated jpeg", {"json": {"image": b64(noise_bytes("JPEG")[:4000])}}, 400, "INVALID_REQUEST"),
    ("float RGB tiff", {"json": {"image": b64(float_rgb_tiff())}}, 415, "UNSUPPORTED_MEDIA_TYPE"),
    ("text file", {"json": {"image": b64(b"just some text, not an image\n" * 4)}}, 415, "UNSUPPORTED_MEDIA_TYPE"),
    (
        "text file upload",
        {"files": {"file": ("notes.txt", b"hello " * 50, "text/plain")}},
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    ),
    ("1x1 image", {"json": {"image": b64(png_bytes(1, 1))}}, 400, "INVALID_REQUEST"),
    ("20000x20000 png bomb", {"json": {"image": b64(png_bomb())}}, 413, "PAYLOAD_TOO_LARGE"),
    ("bbox outside image", {"json": {"image": GOOD, "bbox": [500, 500, 600, 600]}}, 422, "INVALID_REQUEST"),
    (
        "bbox inverted",
        {"json": {"image": GOOD, "bbox": {"x1": 40, "y1": 10, "x2": 5, "y2": 30}}},
        422,
        "INVALID_REQUEST",
    ),
    ("bbox wrong length", {"json": {"image": GOOD, "bbox": [1, 2, 3]}}, 422, "INVALID_REQUEST"),
    ("bbox crop too small", {"json": {"image": GOOD, "bbox": [0, 0, 3, 3]}}, 400, "INVALID_REQUEST"),
    ("image is a number", {"json": {"image": 123}}, 422, "INVALID_REQUEST"),
    ("bbox of strings", {"json": {"image": GOOD, "bbox": ["a", "b", "c", "d"]}}, 422, "INVALID_REQUEST"),
    ("unknown field", {"json": {"image": GOOD, "imgae": "x"}}, 422, "INVALID_REQUEST"),
    ("no image at all", {"json": {"bbox": [0, 0, 10, 10]}}, 422, "INVALID_REQUEST"),
    ("json array body", {"json": [GOOD]}, 422, "INVALID_REQUEST"),
    ("empty body", {"content": b"", "headers": {"content-type": "application/json"}}, 400, "INVALID_REQUEST"),
    (
        "malformed json",
        {"content": b'{"image": ', "headers": {"content-type": "application/json"}},
        400,
        "INVALID_REQUEST",
    ),
    (
        "wrong content type",
        {"content": GOOD.encode(), "headers": {"content-type": "text/plain"}},
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    ),
    ("empty base64", {"json": {"image": ""}}, 400, "INVALID_REQUEST"),
    (
        "multipart without file",
        {"data": {"bbox": "[0,0,10,10]"}, "files": {"other": ("a", b"x")}},
        422,
        "INVALID_REQUEST",
    ),
]


@pytest.mark.parametrize(("label", "request_kwargs", "status", "code"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_envelope(
    client: httpx.Client, label: str, request_kwargs: dict[str, Any], status: int, code: str
) -> None:
    response = client.post("/infer/m", **request_kwargs)
    assert response.status_code == status, f"{label}: {response.text}"
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert error["request_id"] == response.headers["X-Request-ID"]


def test_process_stays_up_and_serves_after_every_bad_input(client: httpx.Client) -> None:
    for _label, kwargs, _status, _code in CASES:
        client.post("/infer/m", **kwargs)
    assert client.get("/health").json()["status"] == "healthy"
    ok = client.post("/infer/m", json={"image": GOOD})
    assert ok.status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"image": GOOD, "bbox": [10, 5, 30, 25]},
        {"image_base64": GOOD, "bbox": {"x1": 10, "y1": 5, "x2": 30, "y2": 25}},
        {"image": "data:image/png;base64," + GOOD, "bbox": {"x": 10, "y": 5, "width": 20, "height": 20}},
    ],
    ids=["list", "corners", "xywh-data-url"],
)
def test_every_documented_bbox_form_crops_the_same(client: httpx.Client, body: dict[str, Any]) -> None:
    response = client.post("/infer/m", json=body)
    assert response.status_code == 200, response.text
    assert (response.json()["width"], response.json()["height"]) == (20, 20)


def test_bbox_partly_outside_is_clamped_to_the_image(client: httpx.Client) -> None:
    response = client.post("/infer/m", json={"image": GOOD, "bbox": [40, 30, 500, 500]})
    assert response.status_code == 200
    assert (response.json()["width"], response.json()["height"]) == (24, 18)


def test_multipart_file_with_bbox_field(client: httpx.Client) -> None:
    response = client.post(
        "/infer/m", files={"file": ("frame.jpg", jpeg_bytes(80, 60), "image/jpeg")}, data={"bbox": "[0, 0, 40, 30]"}
    )
    assert response.status_code == 200, response.text
    assert (response.json()["width"], response.json()["height"]) == (40, 30)


def test_a_library_patching_pil_open_cannot_turn_bad_input_into_a_500(client: httpx.Client) -> None:
    """Ultralytics replaces PIL.Image.open process-wide; bad bytes must still be a 415."""
    from ai.runtime.families.ultralytics_base import import_yolo

    import_yolo()  # applies Ultralytics' patch in this process (the server runs in it)
    response = client.post("/infer/m", json={"image": b64(b"plain text, no image here\n" * 8)})
    assert response.status_code == 415, response.text
    assert response.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
