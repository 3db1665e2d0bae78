"""``POST /plate-read``: licence plates of a vehicle and their text. The plate detector
finds the plates where this instance hosts it; PP-OCR reads each plate crop (or, with
no detector here, the text of the whole vehicle crop)."""

from __future__ import annotations

import re

from PIL import Image

from ai.contracts.enrichment_detail import PlateRead, PlateResponse
from ai.contracts.enrichment_endpoints import PLATES
from ai.runtime.declarations import Call, CompositeEndpoint
from ai.runtime.errors import ServiceError
from ai.runtime.families.tasks import DetectInput, Detection, Task, TextLine
from ai.runtime.service import ServiceRuntime

DETECTOR, READER = "license_plate_detector", "plate_ocr"
MAX_PLATES = 5
PLATE_MARGIN = 0.08  # of the plate box on each side: the reader needs the characters' edges


def plate_text(lines: list[TextLine]) -> tuple[str, float] | None:
    """The plate's text (upper case, letters, digits and single spaces) and the lowest
    line confidence; None when nothing legible was read."""
    cleaned = [(re.sub(r" +", " ", re.sub(r"[^A-Z0-9 ]", "", line.text.upper())).strip(), line) for line in lines]
    legible = [(text, line) for text, line in cleaned if text]
    if not legible:
        return None
    return " ".join(text for text, _ in legible), min(line.confidence for _, line in legible)


def plate_crops(image: Image.Image, plates: list[Detection]) -> list[tuple[Image.Image, Detection]]:
    crops = []
    for plate in plates:
        box = plate.box
        mx, my = box.width * PLATE_MARGIN, box.height * PLATE_MARGIN
        region = (
            max(0, int(box.x1 - mx)),
            max(0, int(box.y1 - my)),
            min(image.width, int(box.x2 + mx) + 1),
            min(image.height, int(box.y2 + my) + 1),
        )
        crops.append((image.crop(region), plate))
    return crops


def reads(
    lines_per_crop: list[list[TextLine] | None],
    plates: list[Detection | None],
    offset: tuple[float, float],
    size: tuple[int, int],
) -> list[PlateRead]:
    """One read per legible plate, in the submitted image's pixels; a crop without a
    detector's box is the whole vehicle crop of ``size``."""
    dx, dy = offset
    found = []
    for lines, plate in zip(lines_per_crop, plates, strict=True):
        text = plate_text(lines or [])
        if text is None:
            continue
        x1, y1, x2, y2 = plate.box if plate is not None else (0.0, 0.0, *map(float, size))
        found.append(
            PlateRead(
                text=text[0],
                confidence=round(text[1], 4),
                bbox=[round(x1 + dx, 1), round(y1 + dy, 1), round(x2 + dx, 1), round(y2 + dy, 1)],
                detection_confidence=round(plate.confidence, 4) if plate is not None else None,
            )
        )
    return found


async def read_plates(
    runtime: ServiceRuntime, image: Image.Image, offset: tuple[float, float], confidence: float
) -> tuple[list[PlateRead], float]:
    """Plates of one vehicle crop and the longest forward pass waited for."""
    ms = 0.0
    plates: list[Detection | None]
    if DETECTOR in runtime.batchers:
        found = await runtime.infer_one(DETECTOR, DetectInput(image, confidence, MAX_PLATES))
        ms = found.ms
        pairs = plate_crops(image, found.output)
        if not pairs:
            return [], ms
        crops, plates = [c for c, _ in pairs], [p for _, p in pairs]
    else:
        crops, plates = [image], [None]
    results = await runtime.infer(READER, crops)
    errors = [r for r in results if isinstance(r, ServiceError)]
    if errors:
        raise errors[0]
    lines = [r.output for r in results]  # type: ignore[union-attr]
    return reads(lines, plates, offset, image.size), ms + max(r.ms for r in results)  # type: ignore[union-attr]


async def _handle(call: Call, runtime: ServiceRuntime) -> PlateResponse:
    found, ms = await read_plates(runtime, call.image.image, call.offset, call.settings.plate_confidence)
    return PlateResponse(plates=found, inference_time_ms=round(ms, 2))


PLATE_ENDPOINT = CompositeEndpoint(PLATES, {READER: Task.READ_TEXT}, _handle, crop=True)
