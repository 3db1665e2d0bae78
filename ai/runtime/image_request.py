"""Read an image request in either form the fleet accepts: JSON or multipart."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Request
from PIL import Image
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from ai.contracts.images import Box, ImageRequest
from ai.contracts.safe_input import text_problem
from ai.runtime.admission import PixelAdmission
from ai.runtime.envelope import validation_error
from ai.runtime.errors import ErrorCode, ServiceError, invalid_request
from ai.runtime.image_modes import WIDE_MODES
from ai.runtime.images import (
    ImageLimits,
    clamp_box,
    decode_base64,
    decode_probed,
    jpeg_reduction,
    oriented_size,
    pixels_at,
    probe_image,
    scaled_region,
)

M = TypeVar("M", bound=ImageRequest)
B = TypeVar("B", bound=BaseModel)

MAX_FORM_FILES = 16
MAX_FORM_FIELDS = 64

# Request schemas of endpoints that read their own body; the app adds them to OpenAPI.
REQUEST_SCHEMAS: dict[str, type[BaseModel]] = {}


@dataclass(frozen=True)
class DecodedImage:
    """The image a model sees (cropped when a bbox was sent) and where it came from.

    ``source_size`` and ``crop`` are in source pixels (the image as displayed, at full
    size); ``scale`` is decoded pixels per source pixel (below 1 when a JPEG was decoded
    reduced, see ``load_image``'s ``min_side``)."""

    image: Image.Image
    source_size: tuple[int, int]
    crop: Box | None
    scale: float = 1.0


async def read_payload(
    request: Request, max_files: int = MAX_FORM_FILES
) -> tuple[dict[str, Any], dict[str, list[bytes]]]:
    """The body as (fields, files by field name): a JSON object, or multipart fields and files."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type == "multipart/form-data":
        try:
            form = await request.form(max_files=max_files, max_fields=MAX_FORM_FIELDS)
        except HTTPException as exc:
            if "files" in str(exc.detail):
                raise ServiceError(
                    ErrorCode.PAYLOAD_TOO_LARGE,
                    f"more than {max_files} files in one request",
                    details={"limit": max_files},
                ) from exc
            raise
        fields: dict[str, Any] = {}
        files: dict[str, list[bytes]] = {}
        for key, value in form.multi_items():
            # A declared charset other than UTF-8 can decode to text that is not valid
            # Unicode; refuse it before it reaches a message or a model.
            problem = text_problem(key, "a form field name") or (
                text_problem(value, f"form field {key!a}") if isinstance(value, str) else None
            )
            if problem:
                raise invalid_request(problem)
            if isinstance(value, UploadFile):
                files.setdefault(key, []).append(await value.read())
            elif value.lstrip()[:1] in ("[", "{"):
                fields[key] = parse_json(value, f"form field {key!a}")
            else:
                fields[key] = value
        return fields, files
    if content_type and content_type != "application/json" and not content_type.endswith("+json"):
        raise ServiceError(
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            f"Content-Type {content_type} is not supported; send application/json or multipart/form-data",
            details={"content_type": content_type},
        )
    body = await request.body()
    if not body.strip():
        raise invalid_request("request body is empty; send JSON with a base64 `image`, or a multipart `file`")
    data = parse_json(body, "request body")
    if not isinstance(data, dict):
        raise ServiceError(
            ErrorCode.INVALID_REQUEST, f"request body must be a JSON object, got {type(data).__name__}", status=422
        )
    return data, {}


def parse_json(text: str | bytes, what: str) -> Any:
    """JSON, or a 400 naming ``what``: hostile nesting deep enough to exhaust the parser's
    recursion is refused like any other malformed JSON (the schemas then bound depth)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise invalid_request(f"{what} is nested too deeply") from None
    except ValueError as exc:
        raise invalid_request(f"{what} is not valid JSON: {exc}") from exc


def parse_body(schema: type[BaseModel], data: dict[str, Any]) -> Any:
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise validation_error(list(exc.errors())) from exc


@dataclass(frozen=True)
class OpenedImage:
    """An image whose header was read and vetted, not yet decoded."""

    probed: Image.Image
    source_size: tuple[int, int]
    box: Box | None  # clamped, in source pixels
    reduction: int
    field: str

    @property
    def pixel_cost(self) -> int:
        """What decoding holds, in RGB pixels (3 bytes each): the decoded size, and four
        times that while wide (16-bit, int32, float) pixels are converted."""
        return pixels_at(self.probed, self.reduction) * (4 if self.probed.mode in WIDE_MODES else 1)


def open_image(
    raw: bytes | str, box: Box | None, limits: ImageLimits, field: str = "image", min_side: int | None = None
) -> OpenedImage:
    """Base64 or bytes to a vetted header: size limits, orientation, the box clamped to
    the image as displayed, and the JPEG reduction ``min_side`` allows. Nothing decoded."""
    data = decode_base64(raw, limits, field) if isinstance(raw, str) else raw
    if not data:
        raise invalid_request(f"`{field}` is empty", field=field)
    probed = probe_image(data, limits, field)
    source_size = oriented_size(probed)
    clamped = clamp_box(source_size, box, limits) if box is not None else None
    return OpenedImage(probed, source_size, clamped, jpeg_reduction(probed, clamped, min_side), field)


def decode_opened(opened: OpenedImage, crop: bool = True) -> DecodedImage:
    """Decode upright and in 8-bit RGB and, if ``crop``, cut the box (blocking)."""
    image, reduction = decode_probed(opened.probed, opened.field, opened.reduction)
    scale = 1.0 / reduction
    clamped = opened.box
    if clamped is None or not crop:
        return DecodedImage(image, opened.source_size, clamped, scale)
    return DecodedImage(image.crop(scaled_region(clamped, scale, image.size)), opened.source_size, clamped, scale)


def load_image(
    raw: bytes | str,
    box: Box | None,
    limits: ImageLimits,
    field: str = "image",
    crop: bool = True,
    min_side: int | None = None,
) -> DecodedImage:
    """Decode (base64 text or bytes) upright and in 8-bit RGB and, if ``crop``, crop to
    ``box`` (which refers to the image as displayed, after EXIF orientation); blocking, so
    call it off the event loop. Without ``crop`` the box is only checked and clamped.

    The box is checked against the header before any pixel is decoded. With ``min_side``,
    a JPEG is decoded at the largest 1/2, 1/4 or 1/8 reduction that leaves the analysed
    region (the box, else the whole image) at least ``min_side`` on its shorter side;
    ``scale`` says which, and ``source_size``/``crop`` stay in full-size pixels."""
    return decode_opened(open_image(raw, box, limits, field, min_side), crop)


def image_source(body: ImageRequest, files: dict[str, list[bytes]]) -> bytes | str:
    """The multipart ``file`` or the base64 field; 422 when neither was sent."""
    parts = files.get("file", [])
    if len(parts) > 1:
        raise ServiceError(
            ErrorCode.INVALID_REQUEST, f"{len(parts)} `file` parts sent; this endpoint takes one image", status=422
        )
    raw: bytes | str | None = parts[0] if parts else None
    if raw is None:
        raw = body.encoded_image()
    if raw is None:
        raise ServiceError(
            ErrorCode.INVALID_REQUEST,
            "no image: send base64 in `image` or `image_base64`, or a multipart `file`",
            status=422,
        )
    return raw


async def read_image_request(
    request: Request,
    schema: type[M],
    limits: ImageLimits,
    crop: bool = True,
    admission: PixelAdmission | None = None,
    min_side: int | None = None,
) -> tuple[M, DecodedImage]:
    """Parse and validate the body, vet the image's header, reserve the memory its
    decoding needs (``admission``: waits, or 503), then decode it on a worker thread.

    With ``crop`` the model sees the bbox crop (``DecodedImage.crop`` keeps where it
    was); without, it sees the whole image and ``DecodedImage.crop`` is the clamped box.
    """
    data, files = await read_payload(request)
    body = parse_body(schema, data)
    opened = await asyncio.to_thread(open_image, image_source(body, files), body.bbox, limits, "image", min_side)
    if admission is not None:
        await admission.admit(opened.pixel_cost)
    return body, await asyncio.to_thread(decode_opened, opened, crop)


async def read_images_request(
    request: Request,
    schema: type[B],
    sources: Callable[[B, dict[str, list[bytes]]], list[bytes | str]],
    limits: ImageLimits,
    max_images: int,
    admission: PixelAdmission | None = None,
) -> tuple[B, list[DecodedImage]]:
    """Several whole images in one request (``sources`` picks them from the body or the
    multipart files): at most ``max_images`` (413 naming the limit), every header vetted
    and the memory of all of them admitted before any is decoded."""
    data, files = await read_payload(request, max_files=max_images + 1)
    body = parse_body(schema, data)
    raws = sources(body, files)
    if not raws:
        raise ServiceError(
            ErrorCode.INVALID_REQUEST, "no images: send base64 `images` or multipart `file` parts", status=422
        )
    if len(raws) > max_images:
        raise ServiceError(
            ErrorCode.PAYLOAD_TOO_LARGE,
            f"{len(raws)} images in one request; at most {max_images} are accepted",
            details={"images": len(raws), "limit": max_images},
        )

    def open_all() -> list[OpenedImage]:
        return [open_image(raw, None, limits, f"images[{i}]") for i, raw in enumerate(raws)]

    opened = await asyncio.to_thread(open_all)
    if admission is not None:
        await admission.admit(sum(item.pixel_cost for item in opened))
    return body, await asyncio.to_thread(lambda: [decode_opened(item) for item in opened])


def image_request_openapi(schema: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI request body for an endpoint that reads the request itself."""
    REQUEST_SCHEMAS[schema.__name__] = schema
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{schema.__name__}"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "bbox": {"type": "string", "description": "JSON bbox, any documented form"},
                        },
                        "required": ["file"],
                    }
                },
            },
        }
    }
