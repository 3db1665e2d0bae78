"""Decode client images safely: size limits, bomb check before decoding, EXIF orientation,
every pixel mode to 8-bit RGB (:mod:`ai.runtime.image_modes`), JPEG draft decoding, bbox crop.

Coordinates a client sends (a bbox) refer to the image as displayed, that is after its
EXIF orientation; :func:`oriented_size` gives that size from the header alone."""

from __future__ import annotations

import base64
import binascii
import io
import math
import re
import sys
import warnings
from dataclasses import dataclass
from typing import Any

from PIL import Image, UnidentifiedImageError

from ai.contracts.images import Box
from ai.runtime.errors import ErrorCode, ServiceError, invalid_request
from ai.runtime.image_modes import to_rgb

SUPPORTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF", "MPO"})
# Formats whose decoder can scale down while decoding (libjpeg's 1/2, 1/4, 1/8 DCT scaling).
DRAFT_FORMATS = frozenset({"JPEG"})
_DRAFT_REDUCTIONS = (8, 4, 2)

_EXIF_ORIENTATION = 0x0112
# What displays an image stored with each EXIF orientation (as PIL.ImageOps.exif_transpose).
_ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SIDES_SWAPPED = frozenset({5, 6, 7, 8})
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
        raise _unsupported(field, data) from exc
    except Exception as exc:  # a plugin failing to identify the data is still "not an image"
        raise _unsupported(field, data) from exc
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


def exif_orientation(image: Image.Image) -> int:
    """The EXIF orientation (1..8) of an opened image, from its header alone; 1 when it has
    none or it is unreadable. Also read from XMP, as Pillow does.

    Pillow's PNG ``getexif`` decodes the whole image to look for an eXIf chunk after the
    pixels; the base method used here does not, so such a late chunk is ignored (as
    browsers ignore it), and the orientation used to decode always equals this one."""
    try:
        value = Image.Image.getexif(image).get(_EXIF_ORIENTATION, 1)
    except Exception:  # a malformed EXIF block is no reason to refuse the pixels
        return 1
    return value if isinstance(value, int) and value in _ORIENTATION_TRANSPOSE else 1


def oriented_size(image: Image.Image) -> tuple[int, int]:
    """``(width, height)`` of ``image`` as displayed (sides swapped for EXIF orientations
    5 to 8), from a lazily opened image such as :func:`probe_image` returns; nothing is
    decoded. Client boxes refer to this size."""
    width, height = image.size
    if exif_orientation(image) in _SIDES_SWAPPED and _stored_size(image) == (width, height):
        return height, width
    return width, height  # upright already, or a plugin that reports the displayed size


def _stored_size(image: Image.Image) -> tuple[int, int]:
    """The size as stored. Recent Pillows report a TIFF's size already turned by its
    orientation (and turn its pixels while loading); its tags still say how it is stored."""
    tags: Any = getattr(image, "tag_v2", None)
    if tags is None:
        return image.size
    try:
        return int(tags[256]), int(tags[257])
    except (KeyError, TypeError, ValueError):
        return image.size


def jpeg_reduction(image: Image.Image, box: Box | None = None, min_side: int | None = None) -> int:
    """The DCT reduction (1, 2, 4 or 8) at which :func:`decode_probed` will decode the
    probed ``image``: the largest that leaves the analysed region (the part of ``box``
    inside the displayed image, else the whole image) with its shorter side at least
    ``min_side``. 1 without ``min_side`` or for a format other than JPEG."""
    if not min_side or min_side <= 0 or image.format not in DRAFT_FORMATS or len(image.tile) != 1:
        return 1
    size = oriented_size(image)
    region = _intersect(size, box) if box is not None else None
    width, height = (region[2] - region[0], region[3] - region[1]) if region else size
    shorter = min(width, height)
    for reduction in _DRAFT_REDUCTIONS:
        if shorter >= min_side * reduction:
            return reduction
    return 1


def decoded_pixels(image: Image.Image, box: Box | None = None, min_side: int | None = None) -> int:
    """How many pixels decoding the probed ``image`` with ``box`` and ``min_side`` will
    produce (what :func:`ai.runtime.image_request.load_image` decodes, before its crop):
    the full size, or the JPEG draft size. From the header alone."""
    return pixels_at(image, jpeg_reduction(image, box, min_side))


def pixels_at(image: Image.Image, reduction: int) -> int:
    """Pixels of ``image`` decoded at 1/``reduction`` of its size (sides rounded up)."""
    width, height = image.size
    return -(-width // reduction) * -(-height // reduction)


def decode_probed(image: Image.Image, field: str = "image", reduction: int = 1) -> tuple[Image.Image, int]:
    """Decode an image :func:`probe_image` opened: at 1/``reduction`` of its size when it is
    a JPEG (see :func:`jpeg_reduction`), converted to 8-bit RGB by its pixel mode, and
    turned upright by its EXIF orientation. Returns the image and the reduction used."""
    orientation = exif_orientation(image)  # from the header, before decoding can change info
    used = 1
    if reduction > 1 and image.format in DRAFT_FORMATS:
        width, height = image.size
        drafted = image.draft("RGB", (max(1, width // reduction), max(1, height // reduction)))
        if drafted is not None:
            used = max(1, round(width / drafted[1][2]))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise invalid_request(f"`{field}` is corrupt or truncated: {exc}", field=field) from exc
    if orientation != 1 and _EXIF_ORIENTATION not in Image.Image.getexif(image):
        orientation = 1  # the plugin turned it upright while loading, and dropped the tag (TIFF)
    rgb = to_rgb(image, field)
    method = _ORIENTATION_TRANSPOSE.get(orientation)
    return (rgb.transpose(method) if method is not None else rgb), used


def decode_image(data: bytes, limits: ImageLimits, field: str = "image") -> Image.Image:
    """Bytes to an upright 8-bit RGB image, after :func:`probe_image` has vetted the header."""
    return decode_probed(probe_image(data, limits, field), field)[0]


def clamp_box(size: tuple[int, int], box: Box, limits: ImageLimits, field: str = "bbox") -> Box:
    """``box`` clamped to an image of ``size`` in whole pixels; wholly outside is a 422."""
    width, height = size
    region = _intersect(size, box)
    if region is None:
        raise ServiceError(
            ErrorCode.INVALID_REQUEST,
            f"`{field}` {list(box)} lies outside the {width}x{height} image",
            status=422,
            details={"field": field, "image_width": width, "image_height": height},
        )
    x1, y1, x2, y2 = region
    _check_min_side(x2 - x1, y2 - y1, limits, field)
    return Box(float(x1), float(y1), float(x2), float(y2))


def scaled_region(box: Box, scale: float, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The pixels of an image decoded at ``scale`` (of ``size``) that cover ``box``, a box in
    source pixels: outward to whole pixels, so nothing of the box is lost."""
    width, height = size
    return (
        max(0, math.floor(box.x1 * scale)),
        max(0, math.floor(box.y1 * scale)),
        min(width, math.ceil(box.x2 * scale)),
        min(height, math.ceil(box.y2 * scale)),
    )


def _intersect(size: tuple[int, int], box: Box) -> tuple[int, int, int, int] | None:
    width, height = size
    x1, y1 = max(0, int(box.x1)), max(0, int(box.y1))
    x2, y2 = min(width, round(box.x2)), min(height, round(box.y2))
    if x2 <= x1 or y2 <= y1:
        return None
    return x1, y1, x2, y2


def _unsupported(field: str, data: bytes = b"") -> ServiceError:
    layout = _tiff_layout(data)
    if layout is not None:
        return ServiceError(
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            f"`{field}` is a TIFF whose pixel layout cannot be decoded ({layout['layout']}); "
            "send greyscale (1- to 32-bit integer, or 32-bit float) or 8- or 16-bit integer colour",
            details={"field": field, "format": "TIFF", **layout},
        )
    return ServiceError(
        ErrorCode.UNSUPPORTED_MEDIA_TYPE,
        f"`{field}` is not an image in a supported format ({', '.join(sorted(SUPPORTED_FORMATS))})",
        details={"field": field},
    )


_PHOTOMETRIC = {0: "WhiteIsZero", 1: "BlackIsZero", 2: "RGB", 3: "palette", 5: "separated", 6: "YCbCr", 8: "CIELab"}
_SAMPLE_FORMAT = {1: "unsigned", 2: "signed", 3: "float"}


def _tiff_layout(data: bytes) -> dict[str, Any] | None:
    """What a TIFF's first IFD says its pixels are, for a 415 that names it."""
    if data[:4] not in (b"II*\x00", b"MM\x00*"):
        return None
    try:
        from PIL import TiffImagePlugin

        stream = io.BytesIO(data)
        ifd = TiffImagePlugin.ImageFileDirectory_v2(stream.read(8))
        stream.seek(ifd.next)
        ifd.load(stream)
        photometric = int(ifd.get(262, -1))
        bits = tuple(int(b) for b in _as_tuple(ifd.get(258, 1)))
        sample_format = _SAMPLE_FORMAT.get(int(_as_tuple(ifd.get(339, 1))[0]), "unknown")
        samples = int(ifd.get(277, len(bits)))
    except Exception:
        return None
    name = _PHOTOMETRIC.get(photometric, f"photometric {photometric}")
    return {
        "layout": f"{name}, {samples} sample(s) of {'/'.join(map(str, bits))}-bit {sample_format}",
        "photometric": name,
        "samples_per_pixel": samples,
        "bits_per_sample": list(bits),
        "sample_format": sample_format,
    }


def _as_tuple(value: Any) -> tuple[Any, ...]:
    return value if isinstance(value, tuple) else (value,)


def _check_min_side(width: int, height: int, limits: ImageLimits, field: str) -> None:
    if min(width, height) < limits.min_side:
        raise invalid_request(
            f"`{field}` is {width}x{height}; each side must be at least MIN_IMAGE_SIDE={limits.min_side} px",
            field=field,
            width=width,
            height=height,
        )
