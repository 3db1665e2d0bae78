"""Family ``ultralytics_pose``: YOLO pose checkpoints (17 COCO keypoints per person)."""

from __future__ import annotations

from ai.runtime.families import register_family
from ai.runtime.families.tasks import Task
from ai.runtime.families.ultralytics_base import UltralyticsAdapter


@register_family
class UltralyticsPose(UltralyticsAdapter):
    family = "ultralytics_pose"
    tasks = frozenset({Task.DETECT, Task.POSE})
    task = "pose"
    demo_config = "yolov8n-pose.yaml"
