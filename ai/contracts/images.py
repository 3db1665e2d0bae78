"""Image input as the services accept it: base64 in ``image`` or ``image_base64``
(or a multipart ``file``) plus an optional ``bbox`` in any documented form."""

from __future__ import annotations

import math
from typing import Annotated, Any, NamedTuple

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from ai.contracts.safe_input import RequestModel


class Box(NamedTuple):
    """A box in pixel corners; the one internal form of every bbox input."""

    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"bbox {name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"bbox {name} must be finite")
    return float(value)


def parse_box(value: Any) -> Box:
    """Accept ``[x1,y1,x2,y2]``, ``{x1,y1,x2,y2}`` or ``{x,y,width,height}``."""
    if isinstance(value, Box):
        return value
    if isinstance(value, list | tuple):
        if len(value) != 4:
            raise ValueError(f"bbox list must have 4 numbers [x1, y1, x2, y2], got {len(value)}")
        x1, y1, x2, y2 = (_number(v, n) for v, n in zip(value, ("x1", "y1", "x2", "y2"), strict=True))
    elif isinstance(value, dict):
        if {"x1", "y1", "x2", "y2"} <= value.keys():
            x1, y1, x2, y2 = (_number(value[k], k) for k in ("x1", "y1", "x2", "y2"))
        elif {"x", "y", "width", "height"} <= value.keys():
            x, y, w, h = (_number(value[k], k) for k in ("x", "y", "width", "height"))
            if w <= 0 or h <= 0:
                raise ValueError("bbox width and height must be positive")
            x1, y1, x2, y2 = x, y, x + w, y + h
        else:
            raise ValueError("bbox object needs keys x1,y1,x2,y2 or x,y,width,height")
    else:
        raise ValueError("bbox must be [x1,y1,x2,y2], {x1,y1,x2,y2} or {x,y,width,height}")
    if x2 <= x1 or y2 <= y1:
        raise ValueError(f"bbox is inverted or empty: x1={x1}, y1={y1}, x2={x2}, y2={y2}")
    return Box(x1, y1, x2, y2)


BBOX_SCHEMA: dict[str, Any] = {
    "description": "[x1,y1,x2,y2], {x1,y1,x2,y2} or {x,y,width,height} in pixels",
    "anyOf": [
        {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4},
        {
            "type": "object",
            "properties": {k: {"type": "number"} for k in ("x1", "y1", "x2", "y2")},
            "required": ["x1", "y1", "x2", "y2"],
        },
        {
            "type": "object",
            "properties": {k: {"type": "number"} for k in ("x", "y", "width", "height")},
            "required": ["x", "y", "width", "height"],
        },
    ],
}

BBoxInput = Annotated[Box, BeforeValidator(parse_box), WithJsonSchema(BBOX_SCHEMA)]


class XYWH(BaseModel):
    """Box in the output form of the detection endpoints."""

    x: float
    y: float
    width: float
    height: float


class ImageRequest(RequestModel):
    """One image, base64 in ``image`` or ``image_base64``, optionally cropped by ``bbox``."""

    # JSON bodies need one of the two image fields (a multipart body sends `file`).
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"anyOf": [{"required": ["image"]}, {"required": ["image_base64"]}]}
    )

    image: str | None = Field(None, description="Base64 image (a data: URL prefix is accepted)")
    image_base64: str | None = Field(None, description="Alias of `image`")
    bbox: BBoxInput | None = Field(None, description="Crop applied on the server, clamped to the image")

    def encoded_image(self) -> str | None:
        return self.image if self.image is not None else self.image_base64
