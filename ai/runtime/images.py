"""Decode client images safely: size limits, bomb check before decoding, bbox crop."""

from __future__ import annotations

import base64
import binascii
import io
import re
import sys
import warnings
from dataclasses import dataclass
from typing import Any

from PIL import Image, UnidentifiedImageError

from ai.contracts.images import Box
from ai.runtime.errors import ErrorCode, ServiceError, invalid_request

SUPPORTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF", "MPO"})
_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(;[\w=.+-]+)*;base64,", re.IGNORECASE)

# PIL's own bomb guard warns or raises at its global limit; ours runs first, per request.
Image.MAX_IMAGE_PIXELS = None


def _pillow_open() -> Any:
    """Pillow's own ``Image.open``.

    Ultralytics replaces ``PIL.Image.open`` process-wide with a wrapper that, on data
    Pillow cannot identify, imports (and may try to install) a HEIF plugin. Client
    bytes must never trigger that, so the decoder keeps Pillow's original.
    """
    opener = Image.open
    if getattr(opener, "__module__", "") == Image.__name__:
        return opener
    patches = sys.modules.get("ultralytics.utils.patches")
    return getattr(patches, "_image_open", opener)


_PIL_OPEN = _pillow_open()


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int
    max_pixels: int
    min_side: int


def decode_base64(text: str, limits: ImageLimits, field: str = "image") -> bytes:
    """Base64 (optionally a ``data:`` URL) to bytes, refusing oversize input before decoding."""
    if not isinstance(text, str) or not text.strip():
        raise invalid_request(f"`{field}` is empty; send a base64-encoded image", field=field)
    payload = _DATA_URL.sub("", text.strip(), count=1)
    if len(payload) * 3 // 4 > limits.max_bytes:
        raise ServiceError(
            ErrorCode.PAYLOAD_TOO_LARGE,
            f"`{field}` decodes to more than MAX_IMAGE_BYTES={limits.max_bytes} bytes",
            details={"field": field, "max_bytes": limits.max_bytes},
        )
    try:
        data = base64.b64decode("".join(payload.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise invalid_request(f"`{field}` is not valid base64: {exc}", field=field) from exc
    if not data:
        raise invalid_request(f"`{field}` decodes to zero bytes", field=field)
    return data


def probe_image(data: bytes, limits: ImageLimits, field: str = "image") -> Image.Image:
    """Open ``data`` lazily and check size, format, pixel count and sides from the header
    alone; nothing is decoded (a bomb costs nothing)."""
    if len(data) > limits.max_bytes:
        raise ServiceError(
            ErrorCode.PAYLOAD_TOO_LARGE,
            f"`{field}` is {len(data)} bytes; MAX_IMAGE_BYTES is {limits.max_bytes}",
            details={"field": field, "max_bytes": limits.max_bytes, "bytes": len(data)},
        )
    try:
        image = _PIL_OPEN(io.BytesIO(data))  # reads the header only
    except (OSError, ValueError, SyntaxError) as exc:
        if not isinstance(exc, UnidentifiedImageError):
            raise invalid_request(f"`{field}` has a corrupt image header: {exc}", field=field) from exc
        raise _unsupported(field) from exc
    except Exception as exc:  # a plugin failing to identify the data is still "not an image"
        raise _unsupported(field) from exc
    if image.format not in SUPPORTED_FORMATS:
        raise ServiceError(
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            f"`{field}` is {image.format}; supported: {', '.join(sorted(SUPPORTED_FORMATS))}",
            details={"field": field, "format": image.format},
        )
    width, height = image.size
    if width * height > limits.max_pixels:
        raise ServiceError(
            ErrorCode.PAYLOAD_TOO_LARGE,
            f"`{field}` is {width}x{height} ({width * height} pixels); MAX_IMAGE_PIXELS is {limits.max_pixels}",
            details={"field": field, "width": width, "height": height, "max_pixels": limits.max_pixels},
        )
    _check_min_side(width, height, limits, field)
    return image


def decode_image(data: bytes, limits: ImageLimits, field: str = "image") -> Image.Image:
    """Bytes to an RGB image, after :func:`probe_image` has vetted the header."""
    image = probe_image(data, limits, field)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise invalid_request(f"`{field}` is corrupt or truncated: {exc}", field=field) from exc
    return image if image.mode == "RGB" else image.convert("RGB")


def clamp_box(size: tuple[int, int], box: Box, limits: ImageLimits, field: str = "bbox") -> Box:
    """``box`` clamped to an image of ``size`` in whole pixels; wholly outside is an error."""
    width, height = size
    x1, y1 = max(0, int(box.x1)), max(0, int(box.y1))
    x2, y2 = min(width, round(box.x2)), min(height, round(box.y2))
    if x2 <= x1 or y2 <= y1:
        raise invalid_request(
            f"`{field}` {list(box)} lies outside the {width}x{height} image",
            field=field,
            image_width=width,
            image_height=height,
        )
    _check_min_side(x2 - x1, y2 - y1, limits, field)
    return Box(float(x1), float(y1), float(x2), float(y2))


def _unsupported(field: str) -> ServiceError:
    return ServiceError(
        ErrorCode.UNSUPPORTED_MEDIA_TYPE,
        f"`{field}` is not an image in a supported format ({', '.join(sorted(SUPPORTED_FORMATS))})",
        details={"field": field},
    )


def _check_min_side(width: int, height: int, limits: ImageLimits, field: str) -> None:
    if min(width, height) < limits.min_side:
        raise invalid_request(
            f"`{field}` is {width}x{height}; each side must be at least MIN_IMAGE_SIDE={limits.min_side} px",
            field=field,
            width=width,
            height=height,
        )
