"""Any decoded Pillow image to the 8-bit RGB the models see, by what its pixels mean.

``Image.convert("RGB")`` is only right for 8-bit modes: it clips 16- and 32-bit
integers (a mid-grey 16-bit frame turns white) and floats in 0..1 (black), and it
cannot convert some modes at all. The rules, one per mode:

* ``1``, ``L``, ``P`` (opaque), ``RGB``, ``RGBX``, ``CMYK``, ``YCbCr``, ``LAB``, ``HSV``:
  Pillow's own converter, which is exact for these (CMYK naively, without its ICC
  profile; Adobe's inverted CMYK JPEGs are undone by Pillow's decoder).
* Transparency (``RGBA``, ``LA``, ``PA``, ``P``/``L``/``RGB`` with a ``transparency``
  key, premultiplied ``RGBa``/``La``): composited onto black, always. The colour
  under a transparent pixel is whatever the encoder left there (often white, or
  leftovers), so dropping alpha would show the model colours nobody displayed;
  black makes a transparent pixel the same whatever the encoder did, and it is
  what premultiplied modes already store.
* ``I;16`` / ``I;16B`` / ``I;16L`` / ``I;16N`` (16-bit): value * 255 / 65535 (value / 257),
  rounded. A TIFF declaring fewer bits (12-bit sensors, Pillow's ``I;12``) is scaled
  by its declared maximum (4095) instead, so it is not four bits too dark.
* ``I`` (32-bit signed): values within 0..255 are kept (8-bit data stored wide);
  within 0..65535 they are 16-bit and scaled as such; otherwise the actual min..max
  is stretched over 0..255. Such frames come from radiometric and scientific
  cameras whose scale the request does not tell us; stretching keeps the structure a
  detector needs, while refusing would turn a valid frame into an error its sender
  cannot fix. A constant frame outside 0..65535 has nothing to stretch and is clipped.
  (The values alone cannot tell a 16-bit frame that stays below 256 from 8-bit data;
  it is read as 8-bit, the commoner case in an int32 TIFF.)
* ``F`` (32-bit float): finite values within 0..1 are scaled by 255; within 0..255
  kept; otherwise min..max stretched (over the finite values; constant frames clipped).
  NaN becomes 0, +inf 255 and -inf 0, so no float frame is ever an error. (A 0..255
  frame whose every value is at most 1.0 reads as 0..1: the same ambiguity as above.)
* Anything else (no file in a supported format opens in another mode with this Pillow;
  a mode a future one adds): 415 ``UNSUPPORTED_MEDIA_TYPE`` naming it.

numpy is imported on first use, not with this module: the backend imports
``ai.runtime.images`` (header checks only) and its base install carries no numpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PIL import Image

from ai.runtime.errors import ErrorCode, ServiceError

if TYPE_CHECKING:
    import numpy as np

# Modes Pillow converts to RGB exactly when nothing is transparent.
_PILLOW_CONVERTS = frozenset({"1", "L", "P", "RGB", "RGBX", "CMYK", "YCbCr", "LAB", "HSV"})
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa"})  # Pillow converts these to RGBA
_SIXTEEN_BIT = frozenset({"I;16", "I;16B", "I;16L", "I;16N"})
_TIFF_BITS_PER_SAMPLE = 258

WIDE_MODES = _SIXTEEN_BIT | {"I", "F"}  # converted through wider working copies
SUPPORTED_MODES = _PILLOW_CONVERTS | _ALPHA_MODES | _SIXTEEN_BIT | {"La", "I", "F"}


def to_rgb(image: Image.Image, field: str = "image") -> Image.Image:
    """``image`` (decoded) as 8-bit RGB by the rules above; 415 for a mode without one."""
    mode = image.mode
    try:
        if mode == "RGB" and "transparency" not in image.info:
            return image
        if mode == "La":  # premultiplied: the grey band is already composited onto black
            return image.getchannel(0).convert("RGB")
        if mode in _ALPHA_MODES or (mode in _PILLOW_CONVERTS and image.has_transparency_data):
            return _onto_black(image.convert("RGBA"))
        if mode in _PILLOW_CONVERTS:
            return image.convert("RGB")
        if mode in _SIXTEEN_BIT or mode in ("I", "F"):
            return _numeric_to_rgb(image)
    except ServiceError:
        raise
    except (ValueError, OSError) as exc:  # a conversion Pillow lacks for this particular image
        raise _unsupported_mode(mode, field, str(exc)) from exc
    raise _unsupported_mode(mode, field)


def _onto_black(rgba: Image.Image) -> Image.Image:
    background = Image.new("RGB", rgba.size)
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def _numeric_to_rgb(image: Image.Image) -> Image.Image:
    import numpy as np

    values = np.asarray(image)
    if image.mode == "F":
        grey = _float_to_uint8(values)
    elif image.mode == "I":
        grey = _int_to_uint8(values)
    else:
        grey = _scale_to_uint8(values, _sixteen_bit_full_scale(image))
    key = image.info.get("transparency")
    if isinstance(key, int) and not isinstance(key, bool):  # a grey colour key (16-bit PNG tRNS)
        grey[values == key] = 0
    return Image.fromarray(grey, "L").convert("RGB")


def _sixteen_bit_full_scale(image: Image.Image) -> int:
    """65535, or less where a TIFF declares fewer significant bits (12-bit data as I;16)."""
    tags: Any = getattr(image, "tag_v2", None)
    bits = tags.get(_TIFF_BITS_PER_SAMPLE) if tags is not None else None
    if isinstance(bits, tuple):
        bits = bits[0] if bits else None
    if isinstance(bits, int) and 8 < bits < 16:
        return (1 << bits) - 1
    return 65535


def _scale_to_uint8(values: np.ndarray, full_scale: int) -> np.ndarray:
    """Integers in 0..full_scale to 0..255, rounded to nearest, in exact integer arithmetic."""
    import numpy as np

    wide = values.astype(np.uint32)
    wide *= 255
    wide += full_scale // 2
    wide //= full_scale
    return np.minimum(wide, 255).astype(np.uint8)


def _int_to_uint8(values: np.ndarray) -> np.ndarray:
    import numpy as np

    low, high = int(values.min()), int(values.max())
    if low >= 0 and high <= 255:
        return values.astype(np.uint8)
    if low >= 0 and high <= 65535:
        return _scale_to_uint8(values, 65535)
    return _stretch(values.astype(np.float32), float(low), float(high))


def _float_to_uint8(values: np.ndarray) -> np.ndarray:
    import numpy as np

    wide = np.array(values, dtype=np.float32)  # a writable copy; float32 is Pillow's own F
    with np.errstate(invalid="ignore", over="ignore"):
        finite = np.isfinite(wide)
        if not finite.any():
            return np.where(wide > 0, 255, 0).astype(np.uint8)
        low = float(np.min(wide, where=finite, initial=np.inf))
        high = float(np.max(wide, where=finite, initial=-np.inf))
        if not finite.all():  # +inf to the top of every rule below, NaN and -inf to the bottom
            positive = wide > 0
            wide[~finite & positive] = max(high, 255.0)
            wide[~finite & ~positive] = min(low, 0.0)
        if low >= 0.0 and high <= 1.0:
            wide *= 255.0
            return _round_clip(wide)
        if low >= 0.0 and high <= 255.0:
            return _round_clip(wide)
        return _stretch(wide, low, high)


def _stretch(wide: np.ndarray, low: float, high: float) -> np.ndarray:
    """``low..high`` over 0..255 in place; a constant frame (nothing to stretch) is clipped."""
    import numpy as np

    if high > low:
        with np.errstate(over="ignore", invalid="ignore"):  # a range near float32's limits
            wide -= np.float32(low)
            wide *= np.float32(255.0 / (high - low))
    return _round_clip(wide)


def _round_clip(wide: np.ndarray) -> np.ndarray:
    import numpy as np

    np.rint(wide, out=wide)
    np.clip(wide, 0, 255, out=wide)
    return wide.astype(np.uint8)


def _unsupported_mode(mode: str, field: str, reason: str = "") -> ServiceError:
    detail = f" ({reason})" if reason else ""
    return ServiceError(
        ErrorCode.UNSUPPORTED_MEDIA_TYPE,
        f"`{field}` has pixel mode {mode}, which cannot be converted to RGB{detail}; "
        f"supported modes: {', '.join(sorted(SUPPORTED_MODES))}",
        details={"field": field, "mode": mode},
    )
