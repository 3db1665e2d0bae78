"""Family ``hf_image_classifier``: transformers image classifiers (ResNet, ViT, ...)."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from PIL import Image

from ai.runtime.catalog import CatalogEntry
from ai.runtime.families import register_family
from ai.runtime.families.hf_base import TransformersAdapter, import_transformers
from ai.runtime.families.tasks import Classification, Task
from ai.runtime.offline import prepare_model_libraries

logger = logging.getLogger(__name__)


def imagenet_labels() -> list[str]:
    """The ImageNet-1k class names, as torchvision ships them (no download)."""
    prepare_model_libraries()
    from torchvision.models import ResNet18_Weights

    return list(ResNet18_Weights.IMAGENET1K_V1.meta["categories"])


def demo_labels(entry: CatalogEntry) -> list[str]:
    if entry.labels == ["imagenet-1k"]:
        return imagenet_labels()
    return entry.labels or ["class_0", "class_1"]


@register_family
class HFImageClassifier(TransformersAdapter):
    family = "hf_image_classifier"
    tasks = frozenset({Task.CLASSIFY})
    auto_model = "AutoModelForImageClassification"

    @classmethod
    def write_demo(cls, folder: Path, entry: CatalogEntry) -> None:
        tf = import_transformers()
        labels = demo_labels(entry)
        id2label = dict(enumerate(labels))
        label2id = {label: i for i, label in id2label.items()}
        if entry.labels == ["imagenet-1k"]:  # the ResNet layout of microsoft/resnet-18
            config = tf.ResNetConfig(
                embedding_size=16,
                hidden_sizes=[16, 32],
                depths=[1, 1],
                layer_type="basic",
                id2label=id2label,
                label2id=label2id,
            )
            model = tf.ResNetForImageClassification(config)
            processor = tf.ConvNextImageProcessor(size={"shortest_edge": 224}, crop_pct=0.875)
        else:  # the ViT layout of the ViT classifiers in the catalog
            config = tf.ViTConfig(
                image_size=64,
                patch_size=16,
                hidden_size=32,
                num_hidden_layers=2,
                num_attention_heads=2,
                intermediate_size=64,
                id2label=id2label,
                label2id=label2id,
            )
            model = tf.ViTForImageClassification(config)
            processor = tf.ViTImageProcessor(size={"height": 64, "width": 64})
        folder.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(folder)
        processor.save_pretrained(folder)

    def load(self) -> None:
        super().load()
        self.labels = [self.model.config.id2label[i] for i in range(self.model.config.num_labels)]

    def run_batch(self, inputs: list[Image.Image]) -> list[Classification]:
        """Class probabilities per image, in label order (the processor resizes every
        image to the model's input, so any mix of sizes is one forward pass)."""
        batch = self.processor(images=inputs, return_tensors="pt").to(self.device.torch_device)
        with torch.inference_mode():
            rows = self.model(**batch).logits.float().softmax(dim=-1).cpu().tolist()
        return [Classification(self.labels, row) for row in rows]
