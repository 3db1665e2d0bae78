"""Read an image request in either form the fleet accepts: JSON or multipart."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Request
from PIL import Image
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from ai.contracts.images import Box, ImageRequest
from ai.runtime.envelope import validation_error
from ai.runtime.errors import ErrorCode, ServiceError, invalid_request
from ai.runtime.images import ImageLimits, clamp_box, decode_base64, decode_image

M = TypeVar("M", bound=ImageRequest)

MAX_FORM_FILES = 16
MAX_FORM_FIELDS = 64

# Request schemas of endpoints that read their own body; the app adds them to OpenAPI.
REQUEST_SCHEMAS: dict[str, type[BaseModel]] = {}


@dataclass(frozen=True)
class DecodedImage:
    """The image a model sees (cropped when a bbox was sent) and where it came from."""

    image: Image.Image
    source_size: tuple[int, int]
    crop: Box | None


async def read_payload(request: Request) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The body as (fields, files): a JSON object, or multipart fields and files."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type == "multipart/form-data":
        form = await request.form(max_files=MAX_FORM_FILES, max_fields=MAX_FORM_FIELDS)
        fields: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                files[key] = await value.read()
            elif value.lstrip()[:1] in ("[", "{"):
                try:
                    fields[key] = json.loads(value)
                except ValueError as exc:
                    raise invalid_request(f"form field `{key}` is not valid JSON: {exc}", field=key) from exc
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
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise invalid_request(f"request body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ServiceError(
            ErrorCode.INVALID_REQUEST, f"request body must be a JSON object, got {type(data).__name__}", status=422
        )
    return data, {}


def parse_body(schema: type[BaseModel], data: dict[str, Any]) -> Any:
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise validation_error(list(exc.errors())) from exc


def load_image(
    raw: bytes | str, box: Box | None, limits: ImageLimits, field: str = "image", crop: bool = True
) -> DecodedImage:
    """Decode (base64 text or bytes) and, if ``crop``, crop to ``box``; blocking, so call
    it off the event loop. Without ``crop`` the box is only checked and clamped."""
    data = decode_base64(raw, limits, field) if isinstance(raw, str) else raw
    if not data:
        raise invalid_request(f"`{field}` is empty", field=field)
    image = decode_image(data, limits, field)
    if box is None:
        return DecodedImage(image, image.size, None)
    clamped = clamp_box(image.size, box, limits)
    if not crop:
        return DecodedImage(image, image.size, clamped)
    region = (int(clamped.x1), int(clamped.y1), int(clamped.x2), int(clamped.y2))
    return DecodedImage(image.crop(region), image.size, clamped)


def image_source(body: ImageRequest, files: dict[str, bytes]) -> bytes | str:
    """The multipart ``file`` or the base64 field; 422 when neither was sent."""
    raw: bytes | str | None = files.get("file")
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
    request: Request, schema: type[M], limits: ImageLimits, crop: bool = True
) -> tuple[M, DecodedImage]:
    """Parse and validate the body, then decode its image on a worker thread.

    With ``crop`` the model sees the bbox crop (``DecodedImage.crop`` keeps where it
    was); without, it sees the whole image and ``DecodedImage.crop`` is the clamped box.
    """
    data, files = await read_payload(request)
    body = parse_body(schema, data)
    decoded = await asyncio.to_thread(load_image, image_source(body, files), body.bbox, limits, "image", crop)
    return body, decoded


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
