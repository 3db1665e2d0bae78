"""Family ``hf_florence2``: Florence-2 through transformers' native implementation.

One input is an image, a task prompt (``<CAPTION>``, ``<OD>``, ...), an optional text
input and the generation settings; one output is the processor's parsed answer (boxes
in pixels of the image it was given, OCR quads, text), never raw ``<loc_...>`` tokens.
Inputs with the same generation settings share one ``generate`` call.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from ai.runtime.catalog import CatalogEntry
from ai.runtime.families import register_family
from ai.runtime.families.hf_base import TransformersAdapter, byte_level_symbols, import_transformers
from ai.runtime.families.tasks import Task
from ai.runtime.resolve import is_demo

DEMO_MAX_NEW_TOKENS = 16


@dataclass(frozen=True)
class PromptInput:
    """One Florence-2 question about one image."""

    image: Image.Image
    task: str
    text_input: str | None = None
    max_new_tokens: int = 1024
    num_beams: int = 3

    @property
    def prompt(self) -> str:
        return self.task + (self.text_input or "")

    @property
    def settings(self) -> tuple[int, int]:
        return self.max_new_tokens, self.num_beams


def parse_generation(processor: Any, text: str, task: str, image_size: tuple[int, int]) -> Any:
    """The processor's parsed answer to ``task`` in the generated ``text``: a string for
    text tasks, else a dict of boxes (``bboxes``), quads (``quad_boxes``) or polygons
    with their labels, in pixels of an image of ``image_size`` (width, height)."""
    return processor.post_process_generation(text, task=task, image_size=image_size)[task]


@register_family
class Florence2Adapter(TransformersAdapter):
    family = "hf_florence2"
    tasks = frozenset({Task.GENERATE})
    auto_model = "AutoModelForImageTextToText"

    def load(self) -> None:
        tf = import_transformers()
        self.processor = tf.AutoProcessor.from_pretrained(self.weights, local_files_only=True)
        dtype = torch.float16 if self.device.is_cuda else torch.float32
        model = tf.AutoModelForImageTextToText.from_pretrained(self.weights, local_files_only=True, dtype=dtype)
        self.model = model.eval().to(self.device.torch_device)
        self.dtype = dtype
        # Random demo weights never choose the end token: they generate at least a few
        # tokens (so the whole path runs) and at most DEMO_MAX_NEW_TOKENS (so it ends).
        demo = is_demo(self.weights)
        self.min_new_tokens = 4 if demo else 0
        self.token_cap = DEMO_MAX_NEW_TOKENS if demo else None

    def run_batch(self, inputs: list[PromptInput]) -> list[dict[str, Any]]:
        """Parsed answers in input order; one ``generate`` per distinct generation setting."""
        answers: dict[int, dict[str, Any]] = {}
        order = sorted(range(len(inputs)), key=lambda i: inputs[i].settings)
        for settings, group in groupby(order, key=lambda i: inputs[i].settings):
            indices = list(group)
            texts = self._generate([inputs[i] for i in indices], *settings)
            for i, text in zip(indices, texts, strict=True):
                answers[i] = parse_generation(self.processor, text, inputs[i].task, inputs[i].image.size)
        return [answers[i] for i in range(len(inputs))]

    def _generate(self, items: list[PromptInput], max_new_tokens: int, num_beams: int) -> list[str]:
        if self.token_cap is not None:
            max_new_tokens = min(max_new_tokens, self.token_cap)
        batch = self.processor(
            text=[item.prompt for item in items],
            images=[item.image.convert("RGB") for item in items],
            return_tensors="pt",
            padding=True,
        ).to(self.device.torch_device)
        batch["pixel_values"] = batch["pixel_values"].to(self.dtype)
        with torch.inference_mode():
            generated = self.model.generate(
                **batch,
                max_new_tokens=max_new_tokens,
                min_new_tokens=min(self.min_new_tokens, max_new_tokens),
                num_beams=num_beams,
                do_sample=False,
            )
        return self.processor.batch_decode(generated, skip_special_tokens=False)

    @classmethod
    def write_demo(cls, folder: Path, entry: CatalogEntry) -> None:
        """A tiny random Florence-2 with a byte-level tokenizer that holds the location,
        task and structure tokens, saved with the processor's post-processor table."""
        tf = import_transformers()
        folder.mkdir(parents=True, exist_ok=True)
        tokenizer = _demo_tokenizer(tf, folder)
        image_tokens = 5  # what the tiny vision tower below gives for a 64x64 image
        image_processor = tf.CLIPImageProcessor(
            size={"height": 64, "width": 64},
            crop_size={"height": 64, "width": 64},
            do_center_crop=False,
            image_seq_length=image_tokens,
        )
        processor = tf.Florence2Processor(
            image_processor=image_processor, tokenizer=tokenizer, post_processor_config=POST_PROCESSOR_CONFIG
        )
        text = tf.BartConfig(
            vocab_size=len(tokenizer),
            d_model=32,
            encoder_layers=1,
            decoder_layers=1,
            encoder_attention_heads=2,
            decoder_attention_heads=2,
            encoder_ffn_dim=64,
            decoder_ffn_dim=64,
            max_position_embeddings=1100,
            pad_token_id=tokenizer.pad_token_id,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            decoder_start_token_id=tokenizer.eos_token_id,
            forced_eos_token_id=tokenizer.eos_token_id,
        )
        vision = tf.Florence2VisionConfig(
            depths=[1, 1, 1, 1],
            embed_dim=[8, 16, 32, 64],
            num_heads=[1, 2, 4, 8],
            num_groups=[1, 2, 4, 8],
            projection_dim=32,
            window_size=2,
        )
        config = tf.Florence2Config(
            text_config=text.to_dict(), vision_config=vision.to_dict(), image_token_id=tokenizer.image_token_id
        )
        model = tf.Florence2ForConditionalGeneration(config).eval()
        model.generation_config.update(
            decoder_start_token_id=tokenizer.eos_token_id,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
        model.save_pretrained(folder)
        processor.save_pretrained(folder)
        for leftover in ("vocab.json", "merges.txt"):
            (folder / f"demo-{leftover}").unlink(missing_ok=True)


# The post-processor's parsing table, as the published Florence-2 checkpoints ship it.
POST_PROCESSOR_CONFIG: dict[str, Any] = {
    "ocr": {
        "pattern": r"(.+?)<loc_(\d+)><loc_(\d+)><loc_(\d+)><loc_(\d+)><loc_(\d+)><loc_(\d+)><loc_(\d+)><loc_(\d+)>",
        "area_threshold": 0.0,
    },
    "phrase_grounding": {"banned_grounding_tokens": ["the image", "it", "they", "them", "this", "that"]},
    "pure_text": {},
    "description_with_bboxes": {},
    "description_with_polygons": {},
    "polygons": {},
    "bboxes": {},
    "description_with_bboxes_or_polygons": {},
}

# Tokens the generated text is structured with (Florence-2's added vocabulary).
STRUCTURE_TOKENS = ["<od>", "</od>", "<ocr>", "</ocr>", "<poly>", "</poly>", "<sep>", "<region_cap>", "</region_cap>"]


def _demo_tokenizer(tf: Any, folder: Path) -> Any:
    """A byte-level BART tokenizer (no merges) whose added tokens are Florence-2's."""
    vocab = {token: i for i, token in enumerate(["<s>", "<pad>", "</s>", "<unk>", *byte_level_symbols().values()])}
    vocab_file, merges_file = folder / "demo-vocab.json", folder / "demo-merges.txt"
    vocab_file.write_text(json.dumps(vocab), encoding="utf-8")
    merges_file.write_text("#version: 0.2\n", encoding="utf-8")
    tokenizer = tf.BartTokenizer(
        vocab_file=str(vocab_file), merges_file=str(merges_file), extra_special_tokens={"image_token": "<image>"}
    )
    locations = [f"<loc_{i}>" for i in range(1000)]
    tokenizer.add_tokens([*locations, *STRUCTURE_TOKENS], special_tokens=True)
    tokenizer.add_tokens(["<image>"], special_tokens=True)
    return tokenizer
