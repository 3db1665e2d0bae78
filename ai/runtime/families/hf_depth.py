"""Family ``hf_depth``: monocular depth estimation (Depth Anything V2) via transformers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ai.runtime.catalog import CatalogEntry
from ai.runtime.families import register_family
from ai.runtime.families.hf_base import TransformersAdapter, import_transformers
from ai.runtime.families.tasks import DepthMap, Task


@register_family
class HFDepth(TransformersAdapter):
    family = "hf_depth"
    tasks = frozenset({Task.DEPTH})
    auto_model = "AutoModelForDepthEstimation"

    @classmethod
    def write_demo(cls, folder: Path, entry: CatalogEntry) -> None:
        tf = import_transformers()
        backbone = tf.Dinov2Config(
            hidden_size=32,
            num_hidden_layers=4,
            num_attention_heads=2,
            intermediate_size=64,
            image_size=518,
            patch_size=14,
            out_features=["stage1", "stage2", "stage3", "stage4"],
            reshape_hidden_states=False,
        )
        config = tf.DepthAnythingConfig(
            backbone_config=backbone,
            neck_hidden_sizes=[16, 32, 64, 64],
            fusion_hidden_size=16,
            head_hidden_size=16,
            reassemble_hidden_size=32,
        )
        processor = tf.DPTImageProcessor(
            do_resize=True,
            size={"height": 518, "width": 518},
            keep_aspect_ratio=True,
            ensure_multiple_of=14,
            resample=3,
            do_normalize=True,
            image_mean=[0.485, 0.456, 0.406],
            image_std=[0.229, 0.224, 0.225],
        )
        folder.mkdir(parents=True, exist_ok=True)
        tf.DepthAnythingForDepthEstimation(config).save_pretrained(folder)
        processor.save_pretrained(folder)

    def run_batch(self, inputs: list[Image.Image]) -> list[DepthMap]:
        """Depth at each input's own size; one forward pass per distinct input size (the
        processor keeps the aspect ratio, so differently shaped images cannot stack).

        Metric checkpoints (``depth_estimation_type="metric"``) give metres as is.
        Relative ones (the default Depth Anything V2 Small) predict inverse depth
        (larger = nearer), which is flipped and min-max normalised per image.
        """
        maps: list[DepthMap | None] = [None] * len(inputs)
        by_size: dict[tuple[int, int], list[int]] = {}
        for index, image in enumerate(inputs):
            by_size.setdefault(image.size, []).append(index)
        for indices in by_size.values():
            for index, depth in zip(indices, self._estimate([inputs[i] for i in indices]), strict=True):
                maps[index] = depth
        return maps  # type: ignore[return-value]

    def _estimate(self, images: list[Image.Image]) -> list[DepthMap]:
        """Depth maps of same-sized images, in one forward pass."""
        batch = self.processor(images=images, return_tensors="pt").to(self.device.torch_device)
        with torch.inference_mode():
            outputs = self.model(**batch)
        sizes = [(image.height, image.width) for image in images]
        processed = self.processor.post_process_depth_estimation(outputs, target_sizes=sizes)
        metric = getattr(self.model.config, "depth_estimation_type", "relative") == "metric"
        maps = []
        for item in processed:
            predicted = item["predicted_depth"].float().cpu().numpy()
            if metric:
                maps.append(DepthMap(values=predicted.astype(np.float32), is_metric=True))
                continue
            low, high = float(predicted.min()), float(predicted.max())
            span = high - low
            normalised = (predicted - low) / span if span > 1e-12 else np.zeros_like(predicted)
            maps.append(DepthMap(values=(1.0 - normalised).astype(np.float32), is_metric=False))
        return maps
