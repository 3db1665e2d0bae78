"""Family ``hf_segmentation``: transformers semantic segmentation (SegFormer, ...).

Any ``AutoModelForSemanticSegmentation`` checkpoint with its image processor: the
processor resizes every input to the model's one input size, so a batch of person
crops of any sizes is one forward pass; the logits are then upsampled to each crop's
own size before the argmax, so every pixel of the input gets a class. The labels are
the checkpoint's ``id2label``, in id order.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from PIL import Image

from ai.runtime.catalog import CatalogEntry
from ai.runtime.families import register_family
from ai.runtime.families.hf_base import TransformersAdapter, import_transformers
from ai.runtime.families.tasks import SegmentationMap, Task

logger = logging.getLogger(__name__)

DEMO_INPUT_SIZE = 64


@register_family
class HFSegmentation(TransformersAdapter):
    family = "hf_segmentation"
    tasks = frozenset({Task.SEGMENT})
    auto_model = "AutoModelForSemanticSegmentation"

    @classmethod
    def write_demo(cls, folder: Path, entry: CatalogEntry) -> None:
        """A tiny random SegFormer (four 1-block stages, 8..64 channels) with the row's
        labels, and a SegFormer image processor at 64x64 instead of 512x512."""
        tf = import_transformers()
        labels = entry.labels or ["background", "foreground"]
        config = tf.SegformerConfig(
            depths=[1, 1, 1, 1],
            hidden_sizes=[8, 16, 32, 64],
            num_attention_heads=[1, 1, 2, 2],
            mlp_ratios=[2, 2, 2, 2],
            decoder_hidden_size=32,
            id2label=dict(enumerate(labels)),
            label2id={label: i for i, label in enumerate(labels)},
        )
        processor = tf.SegformerImageProcessor(size={"height": DEMO_INPUT_SIZE, "width": DEMO_INPUT_SIZE})
        folder.mkdir(parents=True, exist_ok=True)
        tf.SegformerForSemanticSegmentation(config).eval().save_pretrained(folder)
        processor.save_pretrained(folder)

    def load(self) -> None:
        tf = import_transformers()
        self.processor = tf.AutoImageProcessor.from_pretrained(self.weights, local_files_only=True)
        dtype = torch.float16 if self.device.is_cuda else torch.float32
        model = tf.AutoModelForSemanticSegmentation.from_pretrained(self.weights, local_files_only=True, dtype=dtype)
        self.model = model.eval().to(self.device.torch_device)
        config = self.model.config
        self.labels = [config.id2label[i] for i in range(config.num_labels)]
        if self.entry.labels and self.entry.labels != self.labels:
            logger.warning(
                "%s: the checkpoint's labels %s differ from the catalog's %s; serving the checkpoint's",
                self.entry.name,
                self.labels,
                self.entry.labels,
            )
        # The smallest integer type that holds every class id (maps are (h, w) per crop), cast
        # on the device so only that much crosses back to the host.
        self.class_dtype = torch.uint8 if config.num_labels <= 256 else torch.int32

    def run_batch(self, inputs: list[Image.Image]) -> list[SegmentationMap]:
        """Per image, the class of each of its pixels: one forward pass over the batch,
        then the logits upsampled bilinearly to that image's (height, width) and argmaxed."""
        images = [image if image.mode == "RGB" else image.convert("RGB") for image in inputs]
        batch = self.processor(images=images, return_tensors="pt")
        pixels = batch["pixel_values"].to(self.device.torch_device, self.model.dtype)
        maps = []
        with torch.inference_mode():
            logits = self.model(pixel_values=pixels).logits  # (batch, labels, h/4, w/4)
            for image, item in zip(images, logits, strict=True):
                upsampled = torch.nn.functional.interpolate(
                    item[None].float(), size=(image.height, image.width), mode="bilinear", align_corners=False
                )
                classes = upsampled[0].argmax(dim=0).to(self.class_dtype).cpu().numpy()
                maps.append(SegmentationMap(self.labels, classes))
        return maps
