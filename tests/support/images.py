"""Image payloads for tests: real encoded images, truncated ones, and bombs."""

from __future__ import annotations

import base64
import io
import struct
import zlib
from pathlib import Path

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
