"""Family ``hf_xclip``: zero-shot action recognition on a short clip with X-CLIP.

Each item is one person's clip (crops in time order); the answer is a softmax over the
options' action prompts of X-CLIP's logit-scaled video-text similarity. The prompts
never change while the model is loaded, so their text-tower embeddings are computed
once at load; per clip only the vision tower, the multi-frame integration transformer
and X-CLIP's video-specific prompt generator (which adapts those embeddings to the clip's
frames) run. A batch of clips is one forward pass.
"""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image
from pydantic import Field, field_validator

from ai.runtime.catalog import CatalogEntry
from ai.runtime.families import FamilyOptions, register_family
from ai.runtime.families.hf_base import TransformersAdapter, import_transformers
from ai.runtime.families.hf_clip import clip_tokenizer, tiny_text_tower
from ai.runtime.families.tasks import Classification, FramesInput, Task

DEFAULT_ACTIONS: tuple[str, ...] = (
    "walking",
    "running",
    "standing still",
    "loitering",
    "climbing a fence",
    "looking into a car window",
    "carrying a box",
    "fighting",
    "falling down",
    "breaking a window",
    "crouching",
    "knocking on a door",
    "riding a bicycle",
)
"""What a person in front of a home-security camera is usually doing, and the few acts
worth an alert; each label reads as the end of the template's sentence."""

DEFAULT_TEMPLATE = "a security camera video of a person {}"


class XClipOptions(FamilyOptions):
    """``actions``: the labels, in the order the probabilities come back; each prompt is
    ``template`` with its one ``{}`` replaced by the action."""

    actions: list[str] = Field(default_factory=lambda: list(DEFAULT_ACTIONS), min_length=2)
    template: str = DEFAULT_TEMPLATE

    @field_validator("actions")
    @classmethod
    def _distinct_labels(cls, actions: list[str]) -> list[str]:
        cleaned = [action.strip() for action in actions]
        if any(not action for action in cleaned):
            raise ValueError("an action is empty")
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("actions repeat (each is a label of its own)")
        return cleaned

    @field_validator("template")
    @classmethod
    def _one_placeholder(cls, template: str) -> str:
        if template.count("{}") != 1 or "{" in template.replace("{}", "") or "}" in template.replace("{}", ""):
            raise ValueError('the template must hold exactly one "{}" (where the action goes) and no other braces')
        return template

    def prompts(self) -> list[str]:
        return [self.template.replace("{}", action) for action in self.actions]


def sample_frames(frames: list[Image.Image], count: int) -> list[Image.Image]:
    """Exactly ``count`` frames, in time order: slot ``i`` takes the frame in the middle of
    the ``i``-th of ``count`` equal parts of the clip. More frames are thus sampled evenly
    over the whole clip; fewer are each repeated (a slowed-down clip, never a looped one,
    so the motion keeps its direction); exactly ``count`` are kept as they are."""
    if not frames:
        raise ValueError("a clip needs at least one frame")
    return [frames[(2 * slot + 1) * len(frames) // (2 * count)] for slot in range(count)]


@register_family
class XClipAdapter(TransformersAdapter):
    family = "hf_xclip"
    tasks = frozenset({Task.CLASSIFY_FRAMES})
    auto_model = "XCLIPModel"
    options_type = XClipOptions
    options: XClipOptions

    def load(self) -> None:
        tf = import_transformers()
        self.processor = tf.XCLIPProcessor.from_pretrained(self.weights, local_files_only=True)
        dtype = torch.float16 if self.device.is_cuda else torch.float32
        model = tf.XCLIPModel.from_pretrained(self.weights, local_files_only=True, dtype=dtype)
        self.model = model.eval().to(self.device.torch_device)
        self.num_frames = int(self.model.config.vision_config.num_frames)
        self.labels = list(self.options.actions)
        tokens = self.processor.tokenizer(
            self.options.prompts(),
            padding=True,
            truncation=True,
            max_length=int(self.model.config.text_config.max_position_embeddings),
            return_tensors="pt",
        ).to(self.device.torch_device)
        with torch.inference_mode():
            # projected, not yet normalised: the prompt generator adds to them per clip
            self.text_embeds = self.model.get_text_features(**tokens).pooler_output
            self.logit_scale = self.model.logit_scale.exp()

    def run_batch(self, inputs: list[FramesInput]) -> list[Classification]:
        """Action probabilities per clip, in the options' order. Each clip is brought to
        the model's frame count by :func:`sample_frames`; frames may differ in size (the
        processor resizes and centre-crops each)."""
        clips = [sample_frames(item.frames, self.num_frames) for item in inputs]
        frames = [frame.convert("RGB") for clip in clips for frame in clip]
        pixels = self.processor.image_processor(images=frames, return_tensors="pt")["pixel_values"]
        # image processors give (clips * frames, C, H, W), video ones (1, clips * frames, C, H, W)
        pixels = pixels.reshape(len(clips), self.num_frames, *pixels.shape[-3:])
        with torch.inference_mode():
            logits = self._logits(pixels.to(self.device.torch_device, self.model.dtype))
        rows = logits.float().softmax(dim=-1).cpu().tolist()
        return [Classification(list(self.labels), row) for row in rows]

    def _logits(self, pixels: torch.Tensor) -> torch.Tensor:
        """``XCLIPModel.forward``'s video-text logits, with the stored text embeddings in
        place of a text-tower pass: (clips, frames, C, H, W) -> (clips, actions)."""
        model = self.model
        clips, frames = pixels.shape[:2]
        video = model.get_video_features(pixel_values=pixels)
        video_embeds = video.pooler_output  # after the multi-frame integration transformer
        patches = model.prompts_visual_layernorm(video.last_hidden_state[:, 1:, :]) @ model.prompts_visual_projection
        patches = patches.view(clips, frames, -1, video_embeds.shape[-1]).mean(dim=1)
        text = self.text_embeds.unsqueeze(0).expand(clips, -1, -1)
        text = text + model.prompts_generator(text, patches)
        video_embeds = torch.nn.functional.normalize(video_embeds, dim=-1)
        text = torch.nn.functional.normalize(text, dim=-1)
        return torch.einsum("bd,bkd->bk", video_embeds, self.logit_scale * text)

    @classmethod
    def write_demo(cls, folder: Path, entry: CatalogEntry) -> None:
        """A tiny random X-CLIP (32-d, 8 frames of 32x32) with the real CLIP BPE tokenizer
        and the VideoMAE image processor microsoft/xclip-base-patch32 ships with."""
        tf = import_transformers()
        tokenizer = clip_tokenizer()
        text = tf.XCLIPTextConfig(**tiny_text_tower(tokenizer))
        vision = tf.XCLIPVisionConfig(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            image_size=32,
            patch_size=8,
            num_frames=8,
            mit_hidden_size=32,  # X-CLIP adds the MIT's output to projected frame features
            mit_intermediate_size=64,
            mit_num_hidden_layers=1,
            mit_num_attention_heads=2,
        )
        config = tf.XCLIPConfig(
            text_config=text.to_dict(),
            vision_config=vision.to_dict(),
            projection_dim=32,
            prompt_layers=1,
            prompt_num_attention_heads=2,
        )
        model = tf.XCLIPModel(config).eval()
        image_processor = tf.VideoMAEImageProcessor(
            size={"shortest_edge": 32},
            crop_size={"height": 32, "width": 32},
            image_mean=[0.48145466, 0.4578275, 0.40821073],
            image_std=[0.26862954, 0.26130258, 0.27577711],
        )
        folder.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(folder)
        tf.XCLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(folder)
