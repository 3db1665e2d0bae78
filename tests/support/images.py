"""Image payloads for tests: real encoded images, truncated ones, and bombs; every pixel
mode a client can send, EXIF-rotated JPEGs, and hand-written TIFFs Pillow cannot write."""

from __future__ import annotations

import base64
import io
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image


def png_bytes(width: int = 64, height: int = 48, color: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "PNG")
    return buffer.getvalue()


def jpeg_bytes(width: int = 64, height: int = 48, color: str = "blue") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "JPEG")
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def png_bomb(width: int = 20000, height: int = 20000) -> bytes:
    """A tiny PNG that claims ``width`` x ``height`` (IDAT holds a few compressed rows)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    rows = zlib.compress(b"\x00" * (width + 1) * 4, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def real_photo(name: str = "bus.jpg") -> Path:
    """A real photograph shipped with Ultralytics (bus.jpg, zidane.jpg)."""
    import ultralytics

    return Path(ultralytics.__file__).parent / "assets" / name


def encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def ramp(width: int, height: int, low: float, high: float, dtype: Any) -> np.ndarray:
    """``height`` rows, each a linear ramp from ``low`` (left) to ``high`` (right): its mean
    is ``(low + high) / 2``, and a wrong scaling shows (a constant image would hide a
    min..max stretch)."""
    row = np.linspace(low, high, width)
    if np.issubdtype(np.dtype(dtype), np.integer):
        row = np.rint(row)
    return np.repeat(row[None, :], height, axis=0).astype(dtype)


def halves(mode: str, left: Any, right: Any, width: int = 64, height: int = 48) -> Image.Image:
    """An image of ``mode``: the left half ``left``, the right half ``right``."""
    image = Image.new(mode, (width, height), left)
    image.paste(right, (width // 2, 0, width, height))
    return image


def noise_bytes(fmt: str, width: int = 256, height: int = 256, seed: int = 0) -> bytes:
    """Random pixels encoded as ``fmt``: the pixel data is long and incompressible, so
    cutting the file short lands in the pixels, after a header that still parses."""
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return encode(Image.fromarray(pixels, "RGB"), fmt)


def palette_png_with_transparency() -> bytes:
    """Left half palette entry 0 (white, fully transparent), right half entry 1 (grey 128,
    opaque). Composited onto black its brightness is 0.5 * 128/255; ignoring the
    transparency gives (255 + 128) / 2 / 255."""
    image = halves("P", 0, 1)
    image.putpalette([255, 255, 255, 128, 128, 128] + [0, 0, 0] * 254)
    return encode(image, "PNG", transparency=0)


def oriented_image(orientation: int, width: int = 64, height: int = 32, fmt: str = "JPEG") -> bytes:
    """An image stored ``width`` x ``height``, white in its stored top-left quadrant and
    black elsewhere, whose EXIF (a TIFF's own tag) says to display it with ``orientation``."""
    image = Image.new("L", (width, height), 0)
    image.paste(255, (0, 0, width // 2, height // 2))
    if fmt == "TIFF":
        return encode(image.convert("RGB"), fmt, tiffinfo={0x0112: orientation})
    exif = Image.Exif()
    exif[0x0112] = orientation
    quality = {"quality": 95} if fmt in ("JPEG", "WEBP") else {}
    return encode(image.convert("RGB"), fmt, exif=exif, **quality)


def tiff_bytes(
    pixels: bytes,
    width: int,
    height: int,
    *,
    bits: Sequence[int],
    photometric: int,
    sample_format: int = 1,
    extra_samples: Sequence[int] = (),
) -> bytes:
    """An uncompressed, single-strip, little-endian TIFF written by hand, for layouts
    Pillow reads but cannot write (premultiplied alpha, 12-bit) or cannot read at all."""
    short, long_ = 3, 4
    entries = [
        (256, long_, [width]),
        (257, long_, [height]),
        (258, short, list(bits)),
        (259, short, [1]),  # no compression
        (262, short, [photometric]),
        (273, long_, [8]),  # the strip follows the header
        (277, short, [len(bits)]),
        (278, long_, [height]),
        (279, long_, [len(pixels)]),
        (284, short, [1]),  # chunky
    ]
    if extra_samples:
        entries.append((338, short, list(extra_samples)))
    entries.append((339, short, [sample_format] * len(bits)))
    ifd_offset = 8 + len(pixels) + len(pixels) % 2
    overflow_at = ifd_offset + 2 + 12 * len(entries) + 4
    records, overflow = b"", b""
    for tag, kind, values in entries:
        data = struct.pack("<" + ("H" if kind == short else "I") * len(values), *values)
        if len(data) <= 4:
            value = data.ljust(4, b"\0")
        else:
            value = struct.pack("<I", overflow_at + len(overflow))
            overflow += data
        records += struct.pack("<HHI", tag, kind, len(values)) + value
    header = b"II*\0" + struct.pack("<I", ifd_offset)
    padding = b"\0" * (len(pixels) % 2)
    return header + pixels + padding + struct.pack("<H", len(entries)) + records + b"\0\0\0\0" + overflow


def premultiplied_la_tiff(grey: int = 100, alpha: int = 128, width: int = 64, height: int = 48) -> bytes:
    """Grey with associated (premultiplied) alpha: Pillow's mode ``La``, which its own
    converter cannot convert. The stored grey is already composited onto black."""
    pixels = bytes([grey, alpha]) * (width * height)
    return tiff_bytes(pixels, width, height, bits=(8, 8), photometric=1, extra_samples=(1,))


def twelve_bit_tiff(values: np.ndarray) -> bytes:
    """Greyscale with 12 bits per sample (values 0..4095, packed two to three bytes), as
    12-bit sensors write it; Pillow opens it as ``I;16`` holding the 12-bit values."""
    height, width = values.shape
    assert width % 2 == 0
    flat = values.astype(np.uint16).ravel()
    first, second = flat[0::2], flat[1::2]
    packed = np.stack([first >> 4, ((first & 0xF) << 4) | (second >> 8), second & 0xFF], axis=1).astype(np.uint8)
    return tiff_bytes(packed.tobytes(), width, height, bits=(12,), photometric=1)


def float_rgb_tiff(width: int = 16, height: int = 16) -> bytes:
    """RGB with a 32-bit float per sample: a valid TIFF whose pixel layout Pillow cannot decode."""
    pixels = np.full((height, width, 3), 0.5, "<f4").tobytes()
    return tiff_bytes(pixels, width, height, bits=(32, 32, 32), photometric=2, sample_format=3)


def huge_flat_png(width: int = 6000, height: int = 6000) -> bytes:
    """A complete, valid RGB PNG of ``width`` x ``height`` that compresses to a few tens of
    KB (every row the same): tiny on the wire, ~3 bytes a pixel once decoded."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    row = b"\x00" + bytes([90, 120, 150]) * width
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
