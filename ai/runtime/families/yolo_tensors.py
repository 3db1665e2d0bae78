"""YOLO pre- and post-processing in numpy: letterbox a batch, decode either output form.

The same maths as Ultralytics' predictor (centred letterbox padded with grey 114,
boxes scaled back and clipped), without its per-call Python overhead: one array
for the whole batch, one resize per image, the decoding vectorised per image.

Two output forms exist. End-to-end heads (YOLO26 exported with ``nms=False``) give
``[batch, max_det, 6]`` rows of ``x1, y1, x2, y2, score, class``: no NMS to run.
Other heads (YOLOv8, YOLO11) give ``[batch, 4 + classes, anchors]`` with centre boxes;
they go through OpenCV's class-aware NMS (C++), as Ultralytics' default does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ai.contracts.images import Box
from ai.runtime.families.tasks import Detection

PAD_VALUE = 114
MAX_NMS_CANDIDATES = 30_000  # Ultralytics' cap on boxes entering NMS


@dataclass(frozen=True)
class Letterbox:
    """Where one image sits inside the square input: scale, then padding."""

    gain: float
    pad_x: float
    pad_y: float
    width: int
    height: int


def _fit(image_shape: tuple[int, int], size: int) -> tuple[float, int, int]:
    """Scale and scaled (width, height) of an image of (height, width) in the ``size`` square."""
    height, width = image_shape
    gain = min(size / height, size / width)
    return gain, round(width * gain), round(height * gain)


def _padded(side: int, stride: int | None, size: int) -> int:
    return -(-side // stride) * stride if stride else size


def input_shape(image_shape: tuple[int, int], size: int, stride: int | None) -> tuple[int, int]:
    """(height, width) of the input one image of ``image_shape`` (height, width) needs."""
    _, width, height = _fit(image_shape, size)
    return _padded(height, stride, size), _padded(width, stride, size)


def letterbox_batch(
    images: Sequence[np.ndarray], size: int, stride: int | None = None
) -> tuple[np.ndarray, list[Letterbox]]:
    """RGB uint8 images (H, W, 3) to one float32 ``[n, 3, h, w]`` tensor in 0..1.

    Without ``stride`` the input is the ``size`` square. With it (a graph that takes any
    input size), the canvas is only as large as the batch needs, each side rounded up to
    the stride, as Ultralytics' own predictor pads: a 16:9 frame runs at 640x384, 40% fewer
    pixels than the square."""
    fits = [_fit(image.shape[:2], size) for image in images]
    canvas_h = max(_padded(h, stride, size) for _, _, h in fits)
    canvas_w = max(_padded(w, stride, size) for _, w, _ in fits)
    canvas = np.full((len(images), canvas_h, canvas_w, 3), PAD_VALUE, dtype=np.uint8)
    placed: list[Letterbox] = []
    for slot, image, (gain, new_w, new_h) in zip(canvas, images, fits, strict=True):
        height, width = image.shape[:2]
        left = round((canvas_w - new_w) / 2 - 0.1)
        top = round((canvas_h - new_h) / 2 - 0.1)
        resized = image if (new_w, new_h) == (width, height) else cv2.resize(image, (new_w, new_h), cv2.INTER_LINEAR)
        slot[top : top + new_h, left : left + new_w] = resized
        placed.append(Letterbox(gain, left, top, width, height))
    tensor = np.empty((len(images), 3, canvas_h, canvas_w), dtype=np.float32)
    np.multiply(canvas.transpose(0, 3, 1, 2), np.float32(1.0 / 255.0), out=tensor, casting="unsafe")
    return tensor, placed


def _to_image(boxes: np.ndarray, where: Letterbox) -> np.ndarray:
    """Corner boxes from input pixels back to the image's pixels, clipped to it."""
    boxes = boxes.astype(np.float32, copy=True)
    boxes[:, [0, 2]] = ((boxes[:, [0, 2]] - where.pad_x) / where.gain).clip(0, where.width)
    boxes[:, [1, 3]] = ((boxes[:, [1, 3]] - where.pad_y) / where.gain).clip(0, where.height)
    return boxes


def _detections(
    boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, names: Mapping[int, str], max_det: int
) -> list[Detection]:
    """Best first; boxes that clipping left empty (wholly outside the image) dropped."""
    keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    boxes, scores, classes = boxes[keep], scores[keep], classes[keep]
    order = np.argsort(-scores, kind="stable")[:max_det]
    return [
        Detection(label=names.get(int(c), str(int(c))), class_id=int(c), confidence=float(s), box=Box(*map(float, b)))
        for b, s, c in zip(boxes[order].tolist(), scores[order].tolist(), classes[order].tolist(), strict=True)
    ]


def decode_end2end(
    rows: np.ndarray, where: Letterbox, confidence: float, max_det: int, names: Mapping[int, str]
) -> list[Detection]:
    """One image's ``[max_det, 6]`` output of an end-to-end head."""
    rows = rows[rows[:, 4] >= confidence]
    return _detections(_to_image(rows[:, :4], where), rows[:, 4], rows[:, 5].astype(np.int64), names, max_det)


def decode_raw(
    raw: np.ndarray, where: Letterbox, confidence: float, max_det: int, iou: float, names: Mapping[int, str]
) -> list[Detection]:
    """One image's ``[4 + classes, anchors]`` output: best class per anchor, then NMS."""
    classes_count = len(names) if names else raw.shape[0] - 4
    predictions = raw[: 4 + classes_count].T
    class_scores = predictions[:, 4:]
    classes = class_scores.argmax(axis=1)
    scores = class_scores[np.arange(len(classes)), classes]
    keep = scores >= confidence
    if not keep.any():
        return []
    centres, scores, classes = predictions[keep, :4], scores[keep], classes[keep]
    if len(scores) > MAX_NMS_CANDIDATES:
        top = np.argpartition(-scores, MAX_NMS_CANDIDATES)[:MAX_NMS_CANDIDATES]
        centres, scores, classes = centres[top], scores[top], classes[top]
    corners = np.empty_like(centres)
    corners[:, :2] = centres[:, :2] - centres[:, 2:] / 2
    corners[:, 2:] = centres[:, :2] + centres[:, 2:] / 2
    xywh = np.concatenate([corners[:, :2], centres[:, 2:]], axis=1)
    kept = cv2.dnn.NMSBoxesBatched(xywh.tolist(), scores.tolist(), classes.tolist(), confidence, iou, top_k=max_det)
    kept = np.asarray(kept, dtype=np.int64).reshape(-1)
    return _detections(_to_image(corners[kept], where), scores[kept], classes[kept], names, max_det)
