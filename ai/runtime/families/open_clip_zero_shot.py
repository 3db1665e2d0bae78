"""Family ``open_clip_zero_shot``: zero-shot image classification with an open_clip CLIP or
SigLIP checkpoint (Marqo-FashionSigLIP for clothing on person crops).

Weights are a folder in open_clip's Hugging Face layout: ``open_clip_config.json`` (the
``model_cfg`` and ``preprocess_cfg``) beside ``open_clip_model.safetensors`` or
``open_clip_pytorch_model.bin``. It is opened with open_clip's ``local-dir:`` schema, so
nothing is fetched: a text tower whose config names ``hf_tokenizer_name`` reads its
tokenizer files from the same folder; one without uses open_clip's CLIP BPE, which ships in
the wheel.

Each label becomes a prompt through the options' template; the prompts' text embeddings
are computed once at load. An image's probabilities are the softmax over labels of
``logit_scale * cos(image, prompt) + logit_bias``.
"""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from pydantic import Field, field_validator

from ai.runtime.catalog import CatalogEntry
from ai.runtime.device import DeviceInfo
from ai.runtime.families import FamilyOptions, ModelAdapter, register_family
from ai.runtime.families.tasks import Classification, Task
from ai.runtime.offline import prepare_model_libraries

CONFIG_FILE = "open_clip_config.json"
# The checkpoint names open_clip's local-dir loader looks for, in its order of preference.
CHECKPOINT_NAMES = (
    "open_clip_model.safetensors",
    "open_clip_pytorch_model.safetensors",
    "open_clip_pytorch_model.bin",
    "open_clip_pytorch_model.pth",
    "model.safetensors",
    "pytorch_model.bin",
    "pytorch_model.pth",
    "model.pth",
)
# Files of which a Hugging Face tokenizer needs at least one.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "spiece.model", "vocab.json", "vocab.txt")

# What a security camera cares to tell apart on a person: everyday clothing, work and
# delivery wear, and what hides a face. Short, because they are the answer's labels.
DEFAULT_LABELS = (
    "t-shirt",
    "shirt",
    "hoodie",
    "sweater",
    "jacket",
    "coat",
    "suit",
    "dress",
    "shorts",
    "high-visibility vest",
    "delivery uniform",
    "balaclava",
    "face mask",
    "ski mask",
    "sunglasses",
    "hat",
    "cap",
    "backpack",
)
DEFAULT_TEMPLATE = "a photo of a person wearing a {}"


def import_open_clip() -> Any:
    """open_clip imports torchvision (and timm), which need the offline settings and shim first."""
    prepare_model_libraries()
    import open_clip

    return open_clip


class OpenClipZeroShotOptions(FamilyOptions):
    """``labels``: the classes, in the order the answer lists them (two or more, distinct,
    non-blank). ``template``: the prompt each label is put into; exactly one ``{}`` and no
    other replacement field."""

    labels: list[str] = Field(default_factory=lambda: list(DEFAULT_LABELS), min_length=2)
    template: str = DEFAULT_TEMPLATE

    @field_validator("labels")
    @classmethod
    def _distinct_labels(cls, labels: list[str]) -> list[str]:
        if any(not label.strip() for label in labels):
            raise ValueError("a label is blank")
        repeated = sorted({label for label in labels if labels.count(label) > 1})
        if repeated:
            raise ValueError(f"labels repeat ({', '.join(repeated)}): each would take a share of one probability")
        return labels

    @field_validator("template")
    @classmethod
    def _one_placeholder(cls, template: str) -> str:
        try:
            fields = [(name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(template)]
        except ValueError as exc:  # an unmatched brace
            raise ValueError(f"template {template!r} is not a format string: {exc}") from None
        fields = [field for field in fields if field[0] is not None]
        if fields != [("", "", None)]:
            raise ValueError(f"template {template!r} must hold exactly one '{{}}' and no other field")
        return template


def prompts(options: OpenClipZeroShotOptions) -> list[str]:
    """The text each label is embedded as, in label order."""
    return [options.template.format(label) for label in options.labels]


@register_family
class OpenClipZeroShot(ModelAdapter):
    """CLASSIFY: a :class:`Classification` over ``options.labels`` per image.

    SigLIP was trained with a sigmoid per image-text pair, which scores each label on its
    own; the answer here is a softmax over the labels for CLIP and SigLIP alike, because a
    :class:`Classification` is one distribution (probabilities summing to 1). SigLIP's
    ``logit_bias`` is one scalar added to every label's logit, so it is applied but
    cancels in the softmax; ``logit_scale`` (the learnt temperature) is what shapes it.
    """

    family = "open_clip_zero_shot"
    tasks = frozenset({Task.CLASSIFY})
    options_type = OpenClipZeroShotOptions
    options: OpenClipZeroShotOptions

    @classmethod
    def find_weights(cls, folder: Path) -> Path | None:
        if not (folder / CONFIG_FILE).is_file():
            return None
        if any((folder / name).is_file() for name in CHECKPOINT_NAMES):
            return folder
        return None

    @classmethod
    def write_demo(cls, folder: Path, entry: CatalogEntry) -> None:
        """A tiny random CLIP (32-d embeddings, 32x32 input) in open_clip's layout, with the
        standard CLIP tokenizer, whose vocabulary ships in open_clip (49,408 tokens)."""
        open_clip = import_open_clip()
        from safetensors.torch import save_file

        config = {
            "model_cfg": {
                "embed_dim": 32,
                "vision_cfg": {"image_size": 32, "patch_size": 8, "width": 32, "head_width": 16, "layers": 2},
                "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2},
            },
            "preprocess_cfg": {
                "mean": list(open_clip.OPENAI_DATASET_MEAN),
                "std": list(open_clip.OPENAI_DATASET_STD),
                "interpolation": "bicubic",
                "resize_mode": "shortest",
            },
        }
        model = open_clip.CLIP(**config["model_cfg"])
        folder.mkdir(parents=True, exist_ok=True)
        (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2), encoding="utf-8")
        state = {key: value.contiguous() for key, value in model.state_dict().items()}
        save_file(state, str(folder / "open_clip_model.safetensors"))

    @classmethod
    def prepare(cls, device: DeviceInfo) -> None:
        import_open_clip()

    def load(self) -> None:
        open_clip = import_open_clip()
        folder = self.weights if self.weights.is_dir() else self.weights.parent
        _check_tokenizer(folder)
        name = f"local-dir:{folder}"
        precision = "fp16" if self.device.is_cuda else "fp32"
        model, preprocess = open_clip.create_model_from_pretrained(
            name, precision=precision, device=self.device.torch_device
        )
        self.model = model.eval()
        self.preprocess = preprocess
        self.dtype = next(self.model.parameters()).dtype
        self.logit_scale = float(self.model.logit_scale.exp().item())
        bias = getattr(self.model, "logit_bias", None)
        self.logit_bias = float(bias.reshape(-1)[0].item()) if bias is not None else 0.0
        tokens = open_clip.get_tokenizer(name)(prompts(self.options)).to(self.device.torch_device)
        with torch.inference_mode():
            text = self.model.encode_text(tokens, normalize=True)
        self.text_features = text.float()  # (labels, dim), fixed while loaded

    def run_batch(self, inputs: list[Image.Image]) -> list[Classification]:
        """One forward pass of the image tower over every image (the transform resizes each
        to the model's input, so any mix of sizes stacks)."""
        pixels = torch.stack([self.preprocess(image.convert("RGB")) for image in inputs])
        pixels = pixels.to(self.device.torch_device, self.dtype)
        with torch.inference_mode():
            images = self.model.encode_image(pixels, normalize=True).float()
            logits = self.logit_scale * images @ self.text_features.T + self.logit_bias
            rows = logits.softmax(dim=-1).cpu().tolist()
        return [Classification(list(self.options.labels), row) for row in rows]


def _check_tokenizer(folder: Path) -> None:
    """A checkpoint that names a Hugging Face tokenizer reads it from its own folder
    (offline, nothing can be fetched): say so before open_clip fails obscurely."""
    config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    text_cfg = config.get("model_cfg", {}).get("text_cfg", {})
    name = text_cfg.get("hf_tokenizer_name")
    if name and not any((folder / file).is_file() for file in TOKENIZER_FILES):
        raise FileNotFoundError(
            f"{folder} names tokenizer {name!r} but holds none of its files ({', '.join(TOKENIZER_FILES)}); "
            "copy the tokenizer files into the weights folder"
        )
