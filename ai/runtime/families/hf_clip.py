"""Family ``hf_clip``: CLIP image and text towers through transformers.

Items are images (EMBED) or strings (EMBED_TEXT) and may be mixed in one batch: each
kind goes through its tower in one forward pass. Every vector is L2-normalised; text
vectors carry the model's logit scale, which zero-shot classification needs.
"""

from __future__ import annotations

import gzip
import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ai.runtime.catalog import CatalogEntry
from ai.runtime.families import register_family
from ai.runtime.families.hf_base import TransformersAdapter, byte_level_symbols, import_transformers
from ai.runtime.families.tasks import Task


@dataclass(frozen=True)
class TextEmbedding:
    """An L2-normalised text vector and the scale CLIP multiplies cosine similarity by."""

    vector: np.ndarray
    logit_scale: float


@register_family
class ClipAdapter(TransformersAdapter):
    family = "hf_clip"
    tasks = frozenset({Task.EMBED, Task.EMBED_TEXT})
    auto_model = "CLIPModel"

    def load(self) -> None:
        tf = import_transformers()
        self.processor = tf.CLIPProcessor.from_pretrained(self.weights, local_files_only=True)
        dtype = torch.float16 if self.device.is_cuda else torch.float32
        model = tf.CLIPModel.from_pretrained(self.weights, local_files_only=True, dtype=dtype)
        self.model = model.eval().to(self.device.torch_device)
        self.logit_scale = float(self.model.logit_scale.exp().item())
        self.max_text_tokens = int(self.model.config.text_config.max_position_embeddings)

    @property
    def dimension(self) -> int:
        return int(self.model.config.projection_dim)

    def run_batch(self, inputs: list[Image.Image | str]) -> list[np.ndarray | TextEmbedding]:
        images = [i for i, item in enumerate(inputs) if not isinstance(item, str)]
        texts = [i for i, item in enumerate(inputs) if isinstance(item, str)]
        out: list[Any] = [None] * len(inputs)
        if images:
            for i, vector in zip(images, self._embed_images([inputs[i] for i in images]), strict=True):
                out[i] = vector
        if texts:
            for i, vector in zip(texts, self._embed_texts([inputs[i] for i in texts]), strict=True):  # type: ignore[misc]
                out[i] = TextEmbedding(vector, self.logit_scale)
        return out

    def _embed_images(self, images: list[Image.Image]) -> np.ndarray:
        batch = self.processor(images=[image.convert("RGB") for image in images], return_tensors="pt")
        pixels = batch["pixel_values"].to(self.device.torch_device, self.model.dtype)
        with torch.inference_mode():
            features = self.model.get_image_features(pixel_values=pixels).pooler_output
        return _normalised(features)

    def _embed_texts(self, texts: list[str]) -> np.ndarray:
        """Texts longer than the model's context are truncated, as CLIP was trained."""
        batch = self.processor.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_text_tokens, return_tensors="pt"
        ).to(self.device.torch_device)
        with torch.inference_mode():
            features = self.model.get_text_features(**batch).pooler_output
        return _normalised(features)

    @classmethod
    def write_demo(cls, folder: Path, entry: CatalogEntry) -> None:
        """A tiny random CLIP (64-d embeddings) with the real CLIP BPE tokenizer."""
        tf = import_transformers()
        tokenizer = clip_tokenizer()
        text = tf.CLIPTextConfig(**tiny_text_tower(tokenizer))
        vision = tf.CLIPVisionConfig(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            image_size=32,
            patch_size=8,
        )
        config = tf.CLIPConfig(text_config=text.to_dict(), vision_config=vision.to_dict(), projection_dim=64)
        model = tf.CLIPModel(config).eval()
        image_processor = tf.CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
        folder.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(folder)
        tf.CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(folder)


def _normalised(features: torch.Tensor) -> np.ndarray:
    features = features.float()
    return torch.nn.functional.normalize(features, dim=-1).cpu().numpy()


@cache
def _bpe_table() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """CLIP's vocabulary and merges, built from the BPE file that ships in open_clip
    (the same 49,408 tokens as every OpenAI CLIP checkpoint)."""
    spec = importlib.util.find_spec("open_clip")  # found, not imported (it would import torchvision)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the CLIP tokenizer's vocabulary ships in open-clip-torch; install the models extra")
    source = Path(spec.submodule_search_locations[0]) / "bpe_simple_vocab_16e6.txt.gz"
    with gzip.open(source, "rt", encoding="utf-8") as file:
        lines = file.read().split("\n")
    merges = [tuple(line.split()) for line in lines[1 : 49152 - 256 - 2 + 1]]
    symbols = list(byte_level_symbols().values())
    tokens = symbols + [s + "</w>" for s in symbols] + ["".join(pair) for pair in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    return {token: i for i, token in enumerate(tokens)}, merges  # type: ignore[return-value]


def tiny_text_tower(tokenizer: Any) -> dict[str, Any]:
    """A demo CLIP-style text tower's configuration over the real CLIP tokenizer."""
    return {
        "vocab_size": len(tokenizer),
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "max_position_embeddings": 77,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }


def clip_tokenizer() -> Any:
    """The real CLIP tokenizer, built offline."""
    tf = import_transformers()
    vocab, merges = _bpe_table()
    return tf.CLIPTokenizer(vocab=dict(vocab), merges=list(merges))
