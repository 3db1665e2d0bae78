"""Family ``hf_vitpose``: top-down ViTPose / ViTPose+ keypoints through transformers.

Each input is already a person crop (the enrichment tier crops the detector's box), so
the crop itself is the person box the processor warps to the model's 256x192 input;
every crop of a batch ends up that size, so the batch is one forward pass whatever the
crop sizes. The output is the shape ``ultralytics_pose`` gives (one person-labelled
detection with 17 COCO keypoints), so the posture and alert rules apply unchanged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ai.contracts.images import Box
from ai.runtime.catalog import CatalogEntry
from ai.runtime.families import register_family
from ai.runtime.families.hf_base import TransformersAdapter, import_transformers
from ai.runtime.families.tasks import DetectInput, Detection, Task

COCO_KEYPOINTS = 17
# ViTPose+ trains one expert per dataset; the COCO head the checkpoints ship reads expert 0.
COCO_DATASET_INDEX = 0
_COCO_LABELS = [
    "Nose",
    "L_Eye",
    "R_Eye",
    "L_Ear",
    "R_Ear",
    "L_Shoulder",
    "R_Shoulder",
    "L_Elbow",
    "R_Elbow",
    "L_Wrist",
    "R_Wrist",
    "L_Hip",
    "R_Hip",
    "L_Knee",
    "R_Knee",
    "L_Ankle",
    "R_Ankle",
]


@register_family
class HFVitPose(TransformersAdapter):
    family = "hf_vitpose"
    tasks = frozenset({Task.POSE})
    auto_model = "VitPoseForPoseEstimation"

    @classmethod
    def write_demo(cls, folder: Path, entry: CatalogEntry) -> None:
        """A tiny random ViTPose+ in the layout of usyd-community/vitpose-plus-*: a
        mixture-of-experts backbone (two experts here, six in the real ones), the classic
        deconvolution head, 17 COCO keypoints, 256x192 input."""
        tf = import_transformers()
        backbone = tf.VitPoseBackboneConfig(
            image_size=[256, 192],
            patch_size=[16, 16],
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            mlp_ratio=4,
            num_experts=2,
            part_features=8,
            out_indices=[2],
        )
        config = tf.VitPoseConfig(
            backbone_config=backbone,
            num_labels=COCO_KEYPOINTS,
            use_simple_decoder=False,
            id2label=dict(enumerate(_COCO_LABELS)),
            label2id={label: i for i, label in enumerate(_COCO_LABELS)},
        )
        folder.mkdir(parents=True, exist_ok=True)
        tf.VitPoseForPoseEstimation(config).save_pretrained(folder)
        tf.VitPoseImageProcessor().save_pretrained(folder)

    def load(self) -> None:
        tf = import_transformers()
        self.processor = tf.AutoImageProcessor.from_pretrained(self.weights, local_files_only=True)
        dtype = torch.float16 if self.device.is_cuda else torch.float32
        model = tf.VitPoseForPoseEstimation.from_pretrained(self.weights, local_files_only=True, dtype=dtype)
        if model.config.num_labels != COCO_KEYPOINTS:
            raise ValueError(
                f"{self.weights} predicts {model.config.num_labels} keypoints; family {self.family} "
                f"serves the {COCO_KEYPOINTS} COCO keypoints"
            )
        self.model = model.eval().to(self.device.torch_device)
        self.experts = int(model.config.backbone_config.num_experts)

    def run_batch(self, inputs: list[DetectInput]) -> list[list[Detection]]:
        """Per crop: one ``person`` detection over the whole crop whose confidence is the
        mean of its 17 keypoint scores, or nothing when that mean is below the input's
        confidence. Keypoints are (x, y, score) in crop pixels, COCO order, clipped to
        the crop (as Ultralytics clips to the image); scores are heatmap peaks clipped
        to 0..1."""
        if not inputs:
            return []
        images = [item.image.convert("RGB") for item in inputs]
        boxes = [[[0.0, 0.0, float(image.width), float(image.height)]] for image in images]  # COCO x, y, w, h
        batch = self.processor(images=images, boxes=boxes, return_tensors="pt")
        pixels = batch["pixel_values"].to(self.device.torch_device, self.model.dtype)
        # Single-expert checkpoints (ViTPose, not ViTPose+) ignore the dataset index.
        dataset = torch.full((len(images),), COCO_DATASET_INDEX, dtype=torch.long, device=self.device.torch_device)
        with torch.inference_mode():
            outputs = self.model(pixel_values=pixels, dataset_index=dataset)
        heatmaps = type(outputs)(heatmaps=outputs.heatmaps.float().cpu())  # the decoding runs in NumPy
        people = self.processor.post_process_pose_estimation(heatmaps, boxes=boxes)
        return [
            _person(item, image.width, image.height, found[0])
            for item, image, found in zip(inputs, images, people, strict=True)
        ]


def _person(item: DetectInput, width: int, height: int, pose: dict[str, torch.Tensor]) -> list[Detection]:
    """The crop's person, or [] when its mean keypoint score is below the threshold."""
    points = np.nan_to_num(pose["keypoints"].numpy().astype(np.float64))
    points[:, 0] = points[:, 0].clip(0.0, width)
    points[:, 1] = points[:, 1].clip(0.0, height)
    scores = np.nan_to_num(pose["scores"].numpy().astype(np.float64)).reshape(-1).clip(0.0, 1.0)
    confidence = float(scores.mean())
    if confidence < item.confidence:
        return []
    keypoints = [(float(x), float(y), float(s)) for (x, y), s in zip(points, scores, strict=True)]
    return [Detection("person", 0, confidence, Box(0.0, 0.0, float(width), float(height)), keypoints)]
