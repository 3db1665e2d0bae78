"""Family ``ultralytics_segment``: YOLO instance-segmentation checkpoints (YOLO11-seg and kin).

It serves DETECT like ``ultralytics_detect`` (same loading, ONNX Runtime / TensorRT
export, batching) and fills each detection's ``mask_area``: the pixels of its instance
mask, in the input image's pixels. Ultralytics builds the masks at the letterboxed
size the network saw, not at the image's (full-size masks of a 4K frame would cost a
few hundred MB per batch), so the area is counted there, on the letterbox's content
only, and scaled by the pixel-area ratio back to the input image.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from ai.runtime.catalog import CatalogEntry
from ai.runtime.families import register_family
from ai.runtime.families.tasks import Detection, Task
from ai.runtime.families.ultralytics_base import UltralyticsAdapter, _calibrate_demo_head, demo_labels, import_yolo


@register_family
class UltralyticsSegment(UltralyticsAdapter):
    family = "ultralytics_segment"
    tasks = frozenset({Task.DETECT})
    task = "segment"
    demo_config = "yolo11n-seg.yaml"

    @classmethod
    def write_demo(cls, folder: Path, entry: CatalogEntry) -> None:
        """A random YOLO11n-seg with the row's labels, saved as a ``.pt`` that loads as a
        segmentation model (the checkpoint records its task: the class alone does not).
        Seeded: layers the calibration does not reset (the mask prototypes' upsampling)
        keep their initial draw, and the same row should always give the same file."""
        yolo_cls = import_yolo()
        torch.manual_seed(0)
        yolo = yolo_cls(cls.demo_config)
        labels = demo_labels(entry)
        if labels:
            from ultralytics.nn.tasks import SegmentationModel

            network = SegmentationModel(cls.demo_config, nc=len(labels), verbose=False)
            network.names = dict(enumerate(labels))
            network.args, network.task = yolo.model.args, yolo.model.task
            yolo.model = network
        _calibrate_demo_head(yolo.model)
        folder.mkdir(parents=True, exist_ok=True)
        yolo.save(str(folder / f"{entry.name}.pt"))

    @staticmethod
    def _parse(result: Any) -> list[Detection]:
        detections = UltralyticsAdapter._parse(result)
        if not detections or result.masks is None:
            return detections
        boxes = result.boxes
        keys = zip(
            map(tuple, boxes.xyxy.detach().cpu().float().tolist()),
            boxes.conf.detach().cpu().float().tolist(),
            boxes.cls.detach().cpu().int().tolist(),
            strict=True,
        )
        areas = dict(zip(keys, mask_areas(result.masks.data, result.orig_shape), strict=True))
        # The base parser drops empty boxes and sorts by score: match its rows back by value.
        return [replace(d, mask_area=areas[(tuple(d.box), d.confidence, d.class_id)]) for d in detections]


def mask_areas(masks: torch.Tensor, image_shape: tuple[int, int]) -> list[float]:
    """Pixels of each mask (``(n, h, w)`` at the letterboxed size) in an image of
    ``image_shape`` (height, width): the padding is left out and each letterbox pixel
    counts for the input pixels it stands for. The letterbox geometry is Ultralytics'
    own (``ops.scale_boxes``): each side rounded, the padding split evenly."""
    height, width = masks.shape[-2:]
    image_height, image_width = image_shape[:2]
    gain = min(height / image_height, width / image_width)
    content_height = max(round(image_height * gain), 1)
    content_width = max(round(image_width * gain), 1)
    top = round((height - content_height) / 2 - 0.1)
    left = round((width - content_width) / 2 - 0.1)
    content = masks[:, top : top + content_height, left : left + content_width]
    pixels = (content > 0).flatten(1).sum(1).double()
    scale = (image_height * image_width) / (content_height * content_width)
    return (pixels * scale).tolist()
