"""The backend checks detection boxes against the frame as displayed (EXIF orientation
applied), from the header alone, as the enrichment services will crop it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from ai.contracts.images import Box
from ai.runtime.errors import ServiceError
from ai.runtime.images import ImageLimits
from backend.api.enrich import _vet
from tests.support.images import b64, oriented_image

STATE: Any = SimpleNamespace(settings=SimpleNamespace(image_limits=ImageLimits(10_000_000, 40_000_000, 8)))
TURNED = b64(oriented_image(6, 64, 32))  # stored 64x32, displayed 32 wide and 64 tall


def test_a_box_inside_the_displayed_frame_passes_though_it_lies_below_the_stored_one() -> None:
    _vet(TURNED, {"bbox": Box(0, 40, 16, 60)}, STATE)


def test_a_box_beyond_the_displayed_width_is_a_422_naming_the_displayed_size() -> None:
    with pytest.raises(ServiceError) as caught:
        _vet(TURNED, {"detections[0].bbox": Box(40, 0, 60, 20)}, STATE)
    assert (caught.value.status, caught.value.code) == (422, "INVALID_REQUEST")
    assert "outside the 32x64 image" in caught.value.message
    assert caught.value.message.startswith("`detections[0].bbox`")
