"""Every image a client can send decodes to the picture it shows, over real HTTP: 16-bit,
32-bit and float pixels are scaled (not clipped to white or black), transparency is
composited onto black, EXIF orientation is applied before a bbox is cut, and what cannot
be decoded is a 4xx envelope, never a 200 with garbage nor a 500."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi import APIRouter, Request
from PIL import Image

from ai.contracts.images import ImageRequest
from ai.runtime.app import create_app
from ai.runtime.image_request import read_image_request
from ai.runtime.service import build_runtime, get_runtime
from ai.runtime.settings import RuntimeSettings
from tests.support.images import (
    b64,
    encode,
    float_rgb_tiff,
    halves,
    noise_bytes,
    oriented_image,
    palette_png_with_transparency,
    premultiplied_la_tiff,
    ramp,
    twelve_bit_tiff,
)
from tests.support.server import LiveServer

W, H = 64, 48


def decode_app() -> Any:
    """A service on the shared runtime whose one endpoint reports what the decoder made."""
    runtime = build_runtime(RuntimeSettings(SERVICE_NAME="decode"), [], "decode")
    router = APIRouter()

    @router.post("/decode")
    async def decode(request: Request) -> dict[str, Any]:
        _body, decoded = await read_image_request(request, ImageRequest, get_runtime(request).limits)
        pixels = np.asarray(decoded.image, dtype=np.float64) / 255.0
        return {
            "mode": decoded.image.mode,
            "width": decoded.image.width,
            "height": decoded.image.height,
            "brightness": float(pixels.mean()),
            "mean_rgb": pixels.reshape(-1, 3).mean(axis=0).tolist(),
            "source_size": list(decoded.source_size),
            "crop": None if decoded.crop is None else list(decoded.crop),
        }

    return create_app(runtime, title="decode", routers=[router])


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with LiveServer(decode_app()) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


def decode(client: httpx.Client, data: bytes, **body: Any) -> httpx.Response:
    return client.post("/decode", json={"image": b64(data), **body})


def _float_with_non_finite() -> tuple[bytes, float]:
    values = ramp(W, H, 0.2, 0.6, np.float32)
    values[:, :8] = np.nan
    values[:, 8:12] = np.inf
    values[:, 12:16] = -np.inf
    truth = np.nan_to_num(values, nan=0.0, posinf=1.0, neginf=0.0).mean()
    return encode(Image.fromarray(values, "F"), "TIFF"), float(truth)


FLOAT_NON_FINITE, FLOAT_NON_FINITE_TRUTH = _float_with_non_finite()
GREY_128 = 128 / 255

# (label, encoded image, the mode Pillow opens it in, true brightness of what it displays)
MODE_CASES: list[tuple[str, bytes, str, float]] = [
    ("16-bit grey PNG", encode(Image.fromarray(ramp(W, H, 0, 32768, np.uint16)), "PNG"), "I;16", 0.25),
    ("16-bit grey TIFF", encode(Image.fromarray(ramp(W, H, 0, 65535, np.uint16)), "TIFF"), "I;16", 0.5),
    (
        "16-bit big-endian TIFF",
        encode(Image.fromarray(ramp(W, H, 16384, 49152, ">u2")), "TIFF"),
        "I;16B",
        0.5,
    ),
    ("12-bit TIFF", twelve_bit_tiff(ramp(W, H, 0, 2048, np.uint16)), "I;16", 1024 / 4095),
    ("int32 TIFF, 16-bit values", encode(Image.fromarray(ramp(W, H, 0, 40000, np.int32)), "TIFF"), "I", 20000 / 65535),
    ("int32 TIFF, 8-bit values", encode(Image.fromarray(ramp(W, H, 0, 200, np.int32)), "TIFF"), "I", 100 / 255),
    (
        "int32 TIFF beyond 16 bits",
        encode(Image.fromarray(ramp(W, H, -100000, 300000, np.int32)), "TIFF"),
        "I",
        0.5,
    ),
    ("float TIFF 0..1", encode(Image.fromarray(ramp(W, H, 0.1, 0.5, np.float32)), "TIFF"), "F", 0.3),
    ("float TIFF 0..255", encode(Image.fromarray(ramp(W, H, 0, 200, np.float32)), "TIFF"), "F", 100 / 255),
    ("float TIFF with NaN and inf", FLOAT_NON_FINITE, "F", FLOAT_NON_FINITE_TRUTH),
    ("float TIFF all NaN", encode(Image.fromarray(np.full((H, W), np.nan, np.float32)), "TIFF"), "F", 0.0),
    ("palette PNG with transparency", palette_png_with_transparency(), "P", 0.5 * GREY_128),
    ("LA PNG", encode(halves("LA", (200, 0), (200, 255)), "PNG"), "LA", 0.5 * 200 / 255),
    ("premultiplied La TIFF", premultiplied_la_tiff(grey=100, alpha=128), "La", 100 / 255),
    ("RGBA PNG", encode(halves("RGBA", (255, 255, 255, 0), (255, 255, 255, 255)), "PNG"), "RGBA", 0.5),
    ("grey PNG with a transparent colour", encode(halves("L", 255, 128), "PNG", transparency=255), "L", 0.5 * GREY_128),
    ("CMYK JPEG", encode(halves("CMYK", (0, 0, 0, 0), (0, 0, 0, 255)), "JPEG", quality=95), "CMYK", 0.5),
    ("1-bit PNG", encode(halves("1", 0, 1), "PNG"), "1", 0.5),
    ("LAB TIFF", encode(Image.new("RGB", (W, H), (128, 128, 128)).convert("LAB"), "TIFF"), "LAB", GREY_128),
    ("YCbCr TIFF", encode(Image.new("RGB", (W, H), (128, 128, 128)).convert("YCbCr"), "TIFF"), "YCbCr", GREY_128),
]


@pytest.mark.parametrize(("label", "data", "mode", "truth"), MODE_CASES, ids=[c[0] for c in MODE_CASES])
def test_every_pixel_mode_decodes_to_its_true_brightness(
    client: httpx.Client, label: str, data: bytes, mode: str, truth: float
) -> None:
    assert Image.open(io.BytesIO(data)).mode == mode, "the case sends the pixel mode it names"
    response = decode(client, data)
    assert response.status_code == 200, f"{label}: {response.text}"
    result = response.json()
    assert (result["mode"], result["width"], result["height"]) == ("RGB", W, H)
    assert result["brightness"] == pytest.approx(truth, abs=0.02), label


def test_cmyk_keeps_its_colours(client: httpx.Client) -> None:
    cyan = encode(Image.new("CMYK", (W, H), (255, 0, 0, 0)), "JPEG", quality=95)
    response = decode(client, cyan)
    assert response.status_code == 200, response.text
    assert response.json()["mean_rgb"] == pytest.approx([0.0, 1.0, 1.0], abs=0.05)


def test_rgba_colour_is_composited_onto_black(client: httpx.Client) -> None:
    half_red = encode(Image.new("RGBA", (W, H), (255, 0, 0, 128)), "PNG")
    response = decode(client, half_red)
    assert response.status_code == 200, response.text
    assert response.json()["mean_rgb"] == pytest.approx([128 / 255, 0.0, 0.0], abs=0.01)


# An image stored 64x32, white in its stored top-left quadrant: orientation 6 shows it
# turned clockwise (the white quadrant at the top right), 8 counter-clockwise (bottom left).
QUADRANTS = {
    "top-left": [0, 0, 16, 32],
    "top-right": [16, 0, 32, 32],
    "bottom-left": [0, 32, 16, 64],
    "bottom-right": [16, 32, 32, 64],
}
ORIENTATIONS = [
    ("JPEG", 6, "top-right"),
    ("JPEG", 8, "bottom-left"),
    ("TIFF", 6, "top-right"),
    ("PNG", 8, "bottom-left"),
]


@pytest.mark.parametrize(("fmt", "orientation", "white"), ORIENTATIONS, ids=[f"{f}-{o}" for f, o, _ in ORIENTATIONS])
def test_exif_orientation_is_applied_before_the_bbox_is_cut(
    client: httpx.Client, fmt: str, orientation: int, white: str
) -> None:
    data = oriented_image(orientation, 64, 32, fmt)
    whole = decode(client, data).json()
    assert (whole["width"], whole["height"]) == (32, 64), "the sides are swapped, as displayed"
    assert whole["source_size"] == [32, 64]
    for name, box in QUADRANTS.items():
        response = decode(client, data, bbox=box)
        assert response.status_code == 200, response.text
        crop = response.json()
        assert (crop["width"], crop["height"]) == (16, 32)
        assert crop["crop"] == [float(v) for v in box]
        if name == white:
            assert crop["brightness"] > 0.9, f"{name} of the displayed image is the white quadrant"
        else:
            assert crop["brightness"] < 0.1, f"{name} of the displayed image is black"


def test_a_bbox_is_checked_against_the_displayed_size(client: httpx.Client) -> None:
    data = oriented_image(6, 64, 32)  # displayed 32 wide, 64 tall
    inside_displayed_only = decode(client, data, bbox=[0, 40, 16, 60])
    assert inside_displayed_only.status_code == 200, inside_displayed_only.text
    assert (inside_displayed_only.json()["width"], inside_displayed_only.json()["height"]) == (16, 20)
    inside_stored_only = decode(client, data, bbox=[40, 0, 60, 20])
    assert inside_stored_only.status_code == 422, inside_stored_only.text
    error = inside_stored_only.json()["error"]
    assert error["code"] == "INVALID_REQUEST"
    assert "outside the 32x64 image" in error["message"]


def test_a_bbox_wholly_outside_is_a_422(client: httpx.Client) -> None:
    response = decode(client, encode(Image.new("RGB", (W, H)), "PNG"), bbox=[100, 100, 200, 200])
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "INVALID_REQUEST"
    assert response.json()["error"]["details"]["image_width"] == W


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_a_truncated_image_is_a_400(client: httpx.Client, fmt: str) -> None:
    whole = noise_bytes(fmt)
    assert decode(client, whole).status_code == 200
    response = decode(client, whole[: len(whole) * 2 // 3])
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "INVALID_REQUEST"
    assert "truncated" in error["message"]


def test_a_pixel_layout_that_cannot_be_decoded_is_a_415_naming_it(client: httpx.Client) -> None:
    response = decode(client, float_rgb_tiff())
    assert response.status_code == 415, response.text
    error = response.json()["error"]
    assert error["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert "RGB, 3 sample(s) of 32/32/32-bit float" in error["message"]
    assert error["details"]["sample_format"] == "float"


def test_the_service_serves_after_every_hostile_image(client: httpx.Client) -> None:
    for _label, data, _mode, _truth in MODE_CASES:
        decode(client, data)
    decode(client, float_rgb_tiff())
    assert client.get("/health").status_code == 200
    assert decode(client, encode(Image.new("RGB", (W, H), "white"), "PNG")).json()["brightness"] == 1.0
