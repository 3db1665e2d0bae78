"""Where active-learning samples go: YOLO label text, ``data.yaml``, file names and the two
sinks (a local directory or an S3 bucket). Nothing here takes a path from a caller: every
key is built from sanitised parts, so a camera id cannot steer a write anywhere."""

from __future__ import annotations

import io
import json
import os
import re
import secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from PIL import Image

from ai.runtime.families.tasks import Detection

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_UNSAFE_VERSION = re.compile(r"[^A-Za-z0-9._-]")
MAX_PART = 64
JPEG_QUALITY = 90


def safe_camera(camera_id: str | None) -> str:
    """The camera id as a file-name part: [A-Za-z0-9_-], at most 64 characters."""
    return _UNSAFE.sub("_", camera_id or "")[:MAX_PART] or "unknown"


def safe_version(version: str) -> str:
    """The model version as a folder name: dots are kept (``yolo11n-1.2``) but never leading,
    so neither ``..`` nor a hidden folder can come out of it."""
    return _UNSAFE_VERSION.sub("_", version).lstrip(".")[:MAX_PART] or "unknown"


def sample_name(timestamp: float, camera_id: str | None) -> str:
    """UTC time (sorts by capture), camera, and a random suffix so two frames of one
    camera in the same microsecond never overwrite each other."""
    stamp = datetime.fromtimestamp(timestamp, UTC).strftime("%Y%m%dT%H%M%S_%fZ")
    return f"{stamp}_{safe_camera(camera_id)}_{secrets.token_hex(4)}"


def yolo_labels(detections: Iterable[Detection], width: int, height: int) -> str:
    """One ``class x_center y_center width height`` line per detection, normalised to the
    image and clamped to it; a box with no area left inside the image is left out."""
    lines = []
    for det in detections:
        if det.class_id < 0:
            continue
        x1, x2 = sorted((min(max(det.box.x1, 0.0), width), min(max(det.box.x2, 0.0), width)))
        y1, y2 = sorted((min(max(det.box.y1, 0.0), height), min(max(det.box.y2, 0.0), height)))
        if x2 <= x1 or y2 <= y1:
            continue
        cx, cy = (x1 + x2) / 2 / width, (y1 + y2) / 2 / height
        lines.append(f"{det.class_id} {cx:.6f} {cy:.6f} {(x2 - x1) / width:.6f} {(y2 - y1) / height:.6f}")
    return "".join(line + "\n" for line in lines)


def data_yaml(names: Mapping[int, str], root: str | None) -> str:
    """An Ultralytics detection ``data.yaml``. Ultralytics needs names for every id from 0 to
    the largest, so ids the model never named get ``class_<id>``. Strings are written as JSON,
    which is valid YAML, so no YAML library is needed. Without ``root`` (S3) ``path`` is left
    out and Ultralytics uses the folder the file is downloaded to."""
    lines = ["# Predicted labels of uncertain frames: review and correct them before training."]
    if root is not None:
        lines.append(f"path: {json.dumps(root)}")
    lines += ["train: images", "val: images", "names:"]
    top = max(names, default=-1)
    lines += [f"  {i}: {json.dumps(names.get(i, f'class_{i}'))}" for i in range(top + 1)]
    return "\n".join(lines) + "\n"


def encode_jpeg(image: Image.Image) -> bytes:
    """The frame as JPEG; ``convert`` returns a new image, so the caller's is never changed."""
    rgb = image if image.mode in ("RGB", "L") else image.convert("RGB")
    buffer = io.BytesIO()
    rgb.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


class Sink(Protocol):
    description: str

    def usage(self) -> int:
        """Bytes already stored, counted against the quota."""
        ...

    def put(self, key: str, data: bytes) -> int:
        """Store ``data`` at ``key`` (``version/images/name.jpg``); return how much usage grew."""
        ...

    def dataset_root(self, version: str) -> str | None:
        """The absolute folder for ``data.yaml``'s ``path``, or None where there is none."""
        ...


class DirectorySink:
    def __init__(self, directory: Path) -> None:
        self.root = directory.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.description = str(self.root)

    def usage(self) -> int:
        total = 0
        for folder, _, files in os.walk(self.root):
            for file in files:
                try:
                    total += os.lstat(os.path.join(folder, file)).st_size
                except OSError:  # removed while walking
                    continue
        return total

    def put(self, key: str, data: bytes) -> int:
        """Write to a temporary name then ``os.replace``, so a reader (or a training run) sees
        the whole file or none of it; the ``.tmp`` suffix keeps it out of Ultralytics' scan."""
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            previous = path.stat().st_size
        except FileNotFoundError:
            previous = 0
        try:
            tmp.write_bytes(data)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return len(data) - previous

    def dataset_root(self, version: str) -> str | None:
        return str(self.root / version)


class S3Sink:
    """Objects are written whole by S3 itself, so no temporary names are needed."""

    def __init__(self, bucket: str, prefix: str, endpoint_url: str | None) -> None:
        try:
            import boto3
        except ImportError as exc:
            raise RuntimeError("S3_BUCKET_NAME is set but boto3 is not installed: pip install boto3") from exc
        self.client = boto3.client("s3", endpoint_url=endpoint_url)
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.description = f"s3://{bucket}/{self.prefix}"
        self._yaml_sizes: dict[str, int] = {}  # data.yaml is the one key overwritten

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def usage(self) -> int:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._key("") if self.prefix else ""
        )
        return sum(item["Size"] for page in pages for item in page.get("Contents", []))

    def put(self, key: str, data: bytes) -> int:
        content_type = "image/jpeg" if key.endswith(".jpg") else "text/plain; charset=utf-8"
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type)
        if not key.endswith("data.yaml"):
            return len(data)
        previous = self._yaml_sizes.get(key, 0)
        self._yaml_sizes[key] = len(data)
        return len(data) - previous

    def dataset_root(self, version: str) -> str | None:
        return None
