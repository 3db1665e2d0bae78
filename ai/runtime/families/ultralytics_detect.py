"""Family ``ultralytics_detect``: YOLO object detection checkpoints."""

from __future__ import annotations

from ai.runtime.families import register_family
from ai.runtime.families.tasks import Task
from ai.runtime.families.ultralytics_base import UltralyticsAdapter


@register_family
class UltralyticsDetect(UltralyticsAdapter):
    family = "ultralytics_detect"
    tasks = frozenset({Task.DETECT})
    task = "detect"
    demo_config = "yolov8n.yaml"
