"""The decoder's parts, below HTTP: each pixel mode's conversion rule to exact values,
orientation read from the header alone, and JPEG draft decoding with its pixel count."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from ai.contracts.images import Box
from ai.runtime.errors import ServiceError
from ai.runtime.image_modes import to_rgb
from ai.runtime.image_request import load_image
from ai.runtime.images import ImageLimits, clamp_box, decoded_pixels, jpeg_reduction, oriented_size, probe_image
from tests.support.images import encode, oriented_image, png_bytes

LIMITS = ImageLimits(max_bytes=50 * 1024 * 1024, max_pixels=40_000_000, min_side=8)


def grey(image: Image.Image) -> list[int]:
    """The first row of an RGB result, one value per pixel (asserting R == G == B)."""
    pixels = np.asarray(to_rgb(image))
    assert pixels.dtype == np.uint8 and pixels.shape[2] == 3
    assert (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all()
    return pixels[0, :, 0].tolist()


def row(mode: str, values: list[float], dtype: str) -> Image.Image:
    return Image.frombytes(mode, (len(values), 1), np.array([values], dtype=dtype).tobytes())


# --- conversion rules --------------------------------------------------------------


@pytest.mark.parametrize(("mode", "dtype"), [("I;16", "<u2"), ("I;16L", "<u2"), ("I;16B", ">u2"), ("I;16N", "=u2")])
def test_sixteen_bit_is_scaled_by_257_not_clipped(mode: str, dtype: str) -> None:
    image = row(mode, [0, 257, 32767, 32896, 65535], dtype)
    assert image.mode == mode
    assert grey(image) == [0, 1, 127, 128, 255]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([0, 100, 255], [0, 100, 255]),  # 8-bit data stored wide: kept
        ([0, 257, 65535], [0, 1, 255]),  # 16-bit data: scaled as 16-bit
        ([-10, 40, 90], [0, 128, 255]),  # beyond: min..max stretched
        ([0, 50000, 100000], [0, 128, 255]),
        ([100000, 100000], [255, 255]),  # constant beyond 16 bits: nothing to stretch, clipped
        ([-5, -5], [0, 0]),
    ],
    ids=["8-bit", "16-bit", "negative", "beyond-16-bit", "constant-high", "constant-negative"],
)
def test_int32_rules(values: list[int], expected: list[int]) -> None:
    assert grey(row("I", values, "<i4")) == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([0.0, 0.5, 1.0], [0, 128, 255]),  # 0..1 scaled by 255
        ([0.0, 100.0, 255.0], [0, 100, 255]),  # 0..255 kept
        ([-1.0, 0.0, 1.0], [0, 128, 255]),  # otherwise stretched
        ([0.0, 1000.0, 2000.0], [0, 128, 255]),
        ([float("nan"), 0.5, float("inf"), float("-inf")], [0, 128, 255, 0]),
        ([float("nan"), float("nan")], [0, 0]),
        ([float("inf"), float("-inf")], [255, 0]),
        ([5000.0, 5000.0], [255, 255]),
    ],
    ids=["unit", "byte", "signed", "wide", "non-finite", "all-nan", "only-inf", "constant-high"],
)
def test_float_rules(values: list[float], expected: list[int]) -> None:
    assert grey(row("F", values, "<f4")) == expected


def test_twelve_bit_tiff_is_scaled_by_its_declared_depth() -> None:
    from tests.support.images import twelve_bit_tiff

    image = Image.open(io.BytesIO(twelve_bit_tiff(np.array([[0, 2048, 4095, 4095]]))))
    image.load()
    assert image.mode == "I;16"
    assert grey(image) == [0, 128, 255, 255]


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (Image.new("RGBA", (2, 1), (200, 100, 50, 128)), (100, 50, 25)),
        (Image.new("RGBa", (2, 1), (100, 50, 25, 128)), (100, 50, 25)),  # premultiplied already
        (Image.new("LA", (2, 1), (200, 0)), (0, 0, 0)),
        (Image.new("La", (2, 1), (100, 128)), (100, 100, 100)),
        (Image.new("PA", (2, 1), (0, 128)), (100, 50, 25)),
    ],
    ids=["RGBA", "RGBa", "LA", "La", "PA"],
)
def test_alpha_is_composited_onto_black(image: Image.Image, expected: tuple[int, int, int]) -> None:
    if image.mode == "PA":
        image.putpalette([200, 100, 50] * 256)
    result = np.asarray(to_rgb(image))[0, 0].tolist()
    assert result == pytest.approx(list(expected), abs=1)


def test_a_palette_with_alpha_is_composited() -> None:
    image = Image.new("P", (2, 1), 0)
    image.putpalette([200, 100, 50, 0], rawmode="RGBA")
    assert np.asarray(to_rgb(image))[0, 0].tolist() == [0, 0, 0]


@pytest.mark.parametrize("mode", ["HSV", "LAB", "YCbCr", "CMYK"])
def test_colour_spaces_round_trip(mode: str) -> None:
    colour = (200, 60, 30)
    image = Image.new("RGB", (2, 1), colour).convert(mode)
    assert np.asarray(to_rgb(image))[0, 0].tolist() == pytest.approx(list(colour), abs=3)


def test_a_mode_without_a_rule_is_a_415_naming_it() -> None:
    image = Image.new("L", (2, 1))
    image._mode = "BGR;24"  # a mode older Pillows made and this module has no rule for
    with pytest.raises(ServiceError) as caught:
        to_rgb(image, "image")
    assert caught.value.status == 415
    assert caught.value.code == "UNSUPPORTED_MEDIA_TYPE"
    assert "BGR;24" in caught.value.message
    assert caught.value.details["mode"] == "BGR;24"


def test_a_box_wholly_outside_is_a_422() -> None:
    with pytest.raises(ServiceError) as caught:
        clamp_box((64, 48), Box(100, 100, 200, 200), LIMITS)
    assert (caught.value.status, caught.value.code) == (422, "INVALID_REQUEST")


# --- orientation from the header -----------------------------------------------------


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF"])
@pytest.mark.parametrize(
    ("orientation", "size"), [(1, (64, 32)), (2, (64, 32)), (3, (64, 32)), (5, (32, 64)), (6, (32, 64)), (8, (32, 64))]
)
def test_oriented_size_swaps_the_sides_for_orientations_5_to_8(
    fmt: str, orientation: int, size: tuple[int, int]
) -> None:
    data = oriented_image(orientation, 64, 32, fmt)
    assert oriented_size(probe_image(data, LIMITS)) == size
    decoded = load_image(data, None, LIMITS)
    assert decoded.image.size == decoded.source_size == size, "the header's answer is what decoding gives"


def test_an_invalid_orientation_is_ignored() -> None:
    assert oriented_size(probe_image(oriented_image(9, 64, 32), LIMITS)) == (64, 32)


# Where the stored top-left (white) quadrant is displayed, as (column, row) of a 2x2 grid.
WHITE_QUADRANT = {1: (0, 0), 2: (1, 0), 3: (1, 1), 4: (0, 1), 5: (0, 0), 6: (1, 0), 7: (1, 1), 8: (0, 1)}


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "TIFF"])
@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("size", [(64, 32), (48, 48)], ids=["wide", "square"])
def test_every_orientation_turns_the_pixels_upright_once(fmt: str, orientation: int, size: tuple[int, int]) -> None:
    """Square images too: a TIFF that Pillow already turned while loading must not be turned again."""
    decoded = load_image(oriented_image(orientation, *size, fmt), None, LIMITS)
    pixels = np.asarray(decoded.image.convert("L"), dtype=np.float64) / 255.0
    rows, columns = pixels.shape[0] // 2, pixels.shape[1] // 2
    means = {
        (c, r): pixels[r * rows : (r + 1) * rows, c * columns : (c + 1) * columns].mean()
        for c in (0, 1)
        for r in (0, 1)
    }
    white = WHITE_QUADRANT[orientation]
    assert means[white] > 0.9, means
    assert all(mean < 0.1 for quadrant, mean in means.items() if quadrant != white), means


@pytest.mark.parametrize("orientation", [None, 6])
def test_oriented_size_decodes_no_pixels(orientation: int | None) -> None:
    """A PNG cut short after its header: decoding it fails, so an answer proves nothing was
    decoded (Pillow's own PNG ``getexif`` decodes the whole image)."""
    params = {}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        params["exif"] = exif
    data = encode(Image.fromarray(np.random.default_rng(0).integers(0, 256, (200, 300, 3), np.uint8)), "PNG", **params)
    truncated = data[: len(data) // 2]
    with pytest.raises(OSError):
        Image.open(io.BytesIO(truncated)).load()
    expected = (200, 300) if orientation == 6 else (300, 200)
    assert oriented_size(probe_image(truncated, LIMITS)) == expected


# --- JPEG draft decoding ---------------------------------------------------------------

BOX = Box(1000.0, 1000.0, 2000.0, 1900.0)  # 1000x900: 1/4 leaves 250x225, 1/8 would leave 125x112


@pytest.fixture(scope="module")
def big_jpeg() -> bytes:
    """4000x3000, black with a white rectangle exactly at ``BOX``."""
    image = Image.new("L", (4000, 3000), 0)
    image.paste(255, tuple(int(v) for v in BOX))
    return encode(image.convert("RGB"), "JPEG", quality=90)


def brightness(image: Image.Image) -> float:
    return float(np.asarray(image, dtype=np.float64).mean()) / 255.0


def test_a_large_jpeg_is_decoded_reduced_to_min_side(big_jpeg: bytes) -> None:
    decoded = load_image(big_jpeg, None, LIMITS, min_side=224)
    assert decoded.scale == 0.125
    assert decoded.image.size == (500, 375)
    assert min(decoded.image.size) >= 224
    assert decoded.source_size == (4000, 3000), "source coordinates are unchanged"
    assert decoded_pixels(probe_image(big_jpeg, LIMITS), None, 224) == 500 * 375


def test_a_bbox_crop_is_cut_at_the_scaled_coordinates_and_keeps_min_side(big_jpeg: bytes) -> None:
    decoded = load_image(big_jpeg, BOX, LIMITS, min_side=224)
    assert decoded.scale == 0.25
    assert decoded.image.size == (250, 225)
    assert min(decoded.image.size) >= 224
    assert decoded.crop == BOX and decoded.source_size == (4000, 3000)
    assert brightness(decoded.image) > 0.97, "the crop is the white rectangle, not another region"
    assert decoded_pixels(probe_image(big_jpeg, LIMITS), BOX, 224) == 1000 * 750


def test_without_crop_the_reduced_whole_image_comes_with_the_box_in_source_pixels(big_jpeg: bytes) -> None:
    decoded = load_image(big_jpeg, BOX, LIMITS, crop=False, min_side=224)
    assert decoded.image.size == (1000, 750)
    assert (decoded.scale, decoded.crop) == (0.25, BOX)


@pytest.mark.parametrize(("min_side", "scale"), [(None, 1.0), (0, 1.0), (1600, 1.0), (1500, 0.5), (700, 0.25)])
def test_the_reduction_is_the_largest_that_keeps_min_side(big_jpeg: bytes, min_side: int | None, scale: float) -> None:
    decoded = load_image(big_jpeg, None, LIMITS, min_side=min_side)
    assert decoded.scale == scale
    assert decoded.image.size == (round(4000 * scale), round(3000 * scale))


def test_a_png_ignores_min_side() -> None:
    data = png_bytes(4000, 3000)
    decoded = load_image(data, None, LIMITS, min_side=224)
    assert (decoded.scale, decoded.image.size) == (1.0, (4000, 3000))
    assert decoded_pixels(probe_image(data, LIMITS), None, 224) == 4000 * 3000


@pytest.mark.parametrize(
    ("size", "box", "min_side"),
    [((4001, 2999), None, 100), ((1001, 999), Box(0, 0, 500, 499), 60), ((640, 480), None, 224), ((999, 997), None, 8)],
)
def test_decoded_pixels_is_what_decoding_produces(size: tuple[int, int], box: Box | None, min_side: int) -> None:
    data = encode(Image.new("RGB", size, "grey"), "JPEG")
    probed = probe_image(data, LIMITS)
    decoded = load_image(data, box, LIMITS, crop=False, min_side=min_side)
    assert decoded_pixels(probed, box, min_side) == decoded.image.width * decoded.image.height
    assert 1 / decoded.scale == jpeg_reduction(probe_image(data, LIMITS), box, min_side)


def test_draft_decoding_respects_exif_orientation() -> None:
    """Stored 4000x2000 with its white quadrant top-left; orientation 6 displays it
    2000x4000 with the white quadrant top-right, where the box is."""
    stored = Image.new("L", (4000, 2000), 0)
    stored.paste(255, (0, 0, 2000, 1000))
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(stored.convert("RGB"), "JPEG", quality=90, exif=exif)
    box = Box(1000.0, 0.0, 2000.0, 2000.0)
    decoded = load_image(data, box, LIMITS, min_side=224)
    assert decoded.source_size == (2000, 4000)
    assert decoded.scale == 0.25
    assert decoded.image.size == (250, 500)
    assert brightness(decoded.image) > 0.97
