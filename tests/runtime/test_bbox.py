"""Bounding boxes in every documented form become one internal form."""

from __future__ import annotations

import pytest

from ai.contracts.images import Box, parse_box


@pytest.mark.parametrize(
    "value",
    [
        [10, 20, 30, 60],
        (10, 20, 30, 60),
        {"x1": 10, "y1": 20, "x2": 30, "y2": 60},
        {"x": 10, "y": 20, "width": 20, "height": 40},
    ],
)
def test_documented_forms_parse_to_the_same_box(value: object) -> None:
    assert parse_box(value) == Box(10, 20, 30, 60)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([30, 20, 10, 60], "inverted"),
        ([1, 2, 3], "4 numbers"),
        ({"x": 1, "y": 2, "width": 0, "height": 3}, "positive"),
        ({"left": 1}, "keys"),
        ("1,2,3,4", "must be"),
        ([1, 2, True, 4], "number"),
        ([1, 2, float("nan"), 4], "finite"),
    ],
)
def test_bad_boxes_are_refused_with_a_reason(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_box(value)
