"""Rendered licence plates whose text a test knows: the real OCR must read them back."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont


def font_file() -> Path:
    candidates = [Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")]
    matplotlib = importlib.util.find_spec("matplotlib")
    if matplotlib is not None and matplotlib.origin:
        candidates.append(Path(matplotlib.origin).parent / "mpl-data" / "fonts" / "ttf" / "DejaVuSans-Bold.ttf")
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    pytest.skip("no DejaVuSans-Bold.ttf (system fonts or matplotlib's) to render plates with")


def plate(text: str, size: tuple[int, int] = (360, 90), points: int = 56) -> Image.Image:
    """A white plate with a black border and the text centred."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, size[0] - 1, size[1] - 1], outline="black", width=4)
    font = ImageFont.truetype(str(font_file()), points)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    draw.text(((size[0] - (right - left)) / 2 - left, (size[1] - (bottom - top)) / 2 - top), text, "black", font)
    return image
