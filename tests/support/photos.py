"""Real photographs for model tests (shipped inside the Ultralytics package)."""

from __future__ import annotations

import base64
from functools import cache

from PIL import Image

from tests.support.images import real_photo

# Where the people stand in bus.jpg (810x1080): a crop the pose and threat models get.
BUS_PERSON_BOX = [50, 200, 300, 900]


@cache
def bus_b64() -> str:
    return base64.b64encode(real_photo("bus.jpg").read_bytes()).decode()


def bus_image() -> Image.Image:
    return Image.open(real_photo("bus.jpg")).convert("RGB")
