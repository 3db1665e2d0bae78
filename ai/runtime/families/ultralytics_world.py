"""Family ``ultralytics_world``: open-vocabulary detection with YOLO-World (v2) checkpoints.

YOLO-World scores every box against one text embedding per word of its vocabulary,
made by CLIP ViT-B/32's text encoder. Ultralytics' ``set_classes`` builds that encoder
by downloading CLIP's weights, which neither a service here nor an operator's offline
box can do. So words are encoded once, online, when the operator pulls the model
(``python -m ai.models pull``, through :meth:`UltralyticsWorld.after_pull`): the
embeddings (the model's ``txt_feats``) and the words (its ``names``) are baked into the
``.pt``, which Ultralytics pickles with the model. The pull encodes the configured
``classes`` and bakes them first, then keeps the words the checkpoint already held (the
released one: COCO's 80), so each later vocabulary built from them needs no text model.

At load the configured ``classes`` are looked up in the baked vocabulary (case and
spacing aside, as CLIP's tokenizer ignores them). The words shape the image features
too: the neck's max-sigmoid attention takes the maximum over every word, so a smaller
vocabulary is not the larger one with detections filtered out. The family therefore
writes a checkpoint holding exactly the configured rows, in the configured order (what
``set_classes`` would give online, since CLIP encodes each word alone), caches it by
content beside the ONNX exports, and loads that through the shared Ultralytics path
(ONNX Runtime on the CPU, TensorRT on CUDA: the exports carry the vocabulary as
constants). A configured word that is not baked in fails the load with a message
naming the fix; so does an exported ``.onnx``/``.engine`` whose vocabulary is not the
configured one, since a graph's vocabulary cannot change.

Demo weights: a random YOLOv8n-worldv2 (the smallest World model) with random unit
text embeddings, of CLIP's 512 dimensions, for the default vocabulary.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from pydantic import Field, field_validator

from ai.runtime.backends import cached_export
from ai.runtime.catalog import CatalogEntry
from ai.runtime.families import register_family
from ai.runtime.families.tasks import Task
from ai.runtime.families.ultralytics_base import (
    UltralyticsAdapter,
    UltralyticsOptions,
    _calibrate_demo_head,
    calibration_affine,
    import_yolo,
)
from ai.runtime.offline import prepare_model_libraries

# What a home-security camera is asked about most: people, vehicles, deliveries, tools of
# a break-in, weapons, animals, and hazards.
DEFAULT_CLASSES = (
    "person",
    "car",
    "package",
    "crowbar",
    "ladder",
    "knife",
    "backpack",
    "bicycle",
    "dog",
    "fire",
    "smoke",
)
TEXT_EMBEDDING_SIZE = 512  # CLIP ViT-B/32's text embeddings, which YOLO-World was trained against
TextEncoder = Callable[[list[str]], torch.Tensor]  # words -> (len(words), 512), unit rows


class VocabularyError(ValueError):
    """The configured vocabulary cannot be had from these weights without a text model."""


class WorldOptions(UltralyticsOptions):
    classes: list[str] = Field(
        default_factory=lambda: list(DEFAULT_CLASSES),
        min_length=1,
        description="The vocabulary, in class-id order: words or short phrases, each baked into the checkpoint "
        "(encoded by `python -m ai.models pull`, which needs internet)",
    )

    @field_validator("classes")
    @classmethod
    def _distinct_words(cls, value: list[str]) -> list[str]:
        words = [" ".join(word.split()) for word in value]
        if any(not word for word in words):
            raise ValueError("a class must not be empty")
        seen: set[str] = set()
        for word in words:
            if word_key(word) in seen:
                raise ValueError(f"class {word!r} is listed twice")
            seen.add(word_key(word))
        return words


def word_key(word: str) -> str:
    """A word as CLIP's tokenizer sees it: case and runs of spaces do not matter."""
    return " ".join(word.lower().split())


@register_family
class UltralyticsWorld(UltralyticsAdapter):
    family = "ultralytics_world"
    tasks = frozenset({Task.DETECT})
    task = "detect"
    demo_config = "yolov8n-worldv2.yaml"
    options_type = WorldOptions
    options: WorldOptions

    @classmethod
    def write_demo(cls, folder: Path, entry: CatalogEntry) -> None:
        """Random YOLOv8n-worldv2 whose baked vocabulary is the row's ``classes``, with
        random unit embeddings standing in for CLIP's (no text model is available)."""
        from ultralytics.nn.tasks import WorldModel

        yolo_cls = import_yolo()
        classes = cls.options_of(entry).classes
        torch.manual_seed(0)  # the same row always gives the same file
        yolo = yolo_cls(cls.demo_config)
        network = WorldModel(cls.demo_config, nc=len(classes), verbose=False)
        network.args, network.task = yolo.model.args, yolo.model.task
        embeddings = torch.randn(len(classes), TEXT_EMBEDDING_SIZE)
        set_vocabulary(network, classes, torch.nn.functional.normalize(embeddings, dim=-1))
        yolo.model = network
        _calibrate_demo_head(network)  # backbone, neck and box branch
        _calibrate_text_heads(network)
        folder.mkdir(parents=True, exist_ok=True)
        yolo.save(str(folder / f"{entry.name}.pt"))

    @classmethod
    def after_pull(cls, folder: Path, entry: CatalogEntry) -> None:
        """Online, right after the checkpoint is downloaded: bake the configured
        vocabulary into it with CLIP's text encoder (fetched here, once)."""
        prepare_model_libraries(offline=False)
        weights = cls.find_weights(folder)
        if weights is None or weights.suffix != ".pt":
            raise VocabularyError(f"{entry.name}: no YOLO-World .pt in {folder} to bake the vocabulary into")
        bake_vocabulary(weights, cls.options_of(entry).classes, openai_clip_text_encoder())

    def load(self) -> None:
        if self.weights.suffix == ".pt":
            # From here on the weights are a checkpoint whose vocabulary is exactly the configured one.
            self.weights = self._with_configured_vocabulary(self.weights)
        super().load()
        names = self.model.predictor.model.names
        found = [str(names[i]) for i in sorted(names)]
        if found != self.options.classes:  # an exported graph carries its own vocabulary
            raise VocabularyError(
                f"{self.entry.name}: {self.weights.name} detects {found}, but the catalog configures classes "
                f"{self.options.classes}; an exported model's vocabulary is fixed: give the .pt checkpoint "
                "(exported per vocabulary, cached), or configure the exported vocabulary"
            )

    def _with_configured_vocabulary(self, weights: Path) -> Path:
        classes = self.options.classes
        baked_words, _embeddings = baked_vocabulary(weights)
        if baked_words == classes:
            return weights
        rows, missing = vocabulary_rows(baked_words, classes)
        if missing:
            raise VocabularyError(
                f"{self.entry.name}: classes {missing} are not in the vocabulary baked into {weights.name} "
                f"({len(baked_words)} words: {', '.join(baked_words)}). YOLO-World encodes words with a CLIP text "
                "model that cannot be fetched offline: run `python -m ai.models pull "
                f"{self.entry.name}` on a machine with internet, with these classes in the catalog row's options "
                "(it encodes them and bakes them into the checkpoint), and copy the checkpoint here; or choose "
                "classes from the baked vocabulary"
            )

        def select(copy: Path) -> Path:
            yolo = import_yolo()(str(copy))
            embeddings = yolo.model.txt_feats.reshape(-1, yolo.model.txt_feats.shape[-1])
            set_vocabulary(yolo.model, classes, embeddings[rows].float())
            target = copy.with_name("vocabulary.pt")
            yolo.save(str(target))
            return target

        digest = hashlib.sha256("\n".join(classes).encode()).hexdigest()[:16]
        return cached_export(weights, self.backend_options.cache_dir / "world", [f"vocab{digest}"], ".pt", select)


def baked_vocabulary(weights: Path) -> tuple[list[str], torch.Tensor]:
    """The words a YOLO-World checkpoint can detect and their embeddings (``(n, d)``)."""
    import_yolo()
    from ultralytics.nn.tasks import WorldModel, load_checkpoint

    network, _checkpoint = load_checkpoint(str(weights))
    if not isinstance(network, WorldModel):
        raise VocabularyError(f"{weights.name} is not a YOLO-World checkpoint (it holds a {type(network).__name__})")
    names = network.names if isinstance(network.names, dict) else dict(enumerate(network.names))
    words = [str(names[i]) for i in sorted(names)]
    embeddings = network.txt_feats.reshape(-1, network.txt_feats.shape[-1]).float()
    if embeddings.shape[0] != len(words):
        raise VocabularyError(
            f"{weights.name} names {len(words)} classes but holds {embeddings.shape[0]} text embeddings"
        )
    return words, embeddings


def vocabulary_rows(baked: Sequence[str], classes: Sequence[str]) -> tuple[list[int], list[str]]:
    """Rows of ``baked`` holding ``classes``, in their order, and the classes it lacks."""
    index = {word_key(word): row for row, word in enumerate(baked)}
    rows = [index[word_key(word)] for word in classes if word_key(word) in index]
    return rows, [word for word in classes if word_key(word) not in index]


def set_vocabulary(network: Any, classes: Sequence[str], embeddings: torch.Tensor) -> None:
    """What ``WorldModel.set_classes`` does, from embeddings at hand: the text features,
    the head's class count, the names."""
    network.txt_feats = embeddings.reshape(1, len(classes), -1).clone()
    network.model[-1].nc = len(classes)
    network.names = dict(enumerate(classes))


def bake_vocabulary(weights: Path, classes: Sequence[str], encode: TextEncoder) -> list[str]:
    """Rewrite a YOLO-World ``.pt`` so its vocabulary is ``classes`` followed by the words
    it held before (kept for later offline choices). ``classes`` are all encoded anew, so
    the configured words never rest on rows of unknown origin. Returns the baked words."""
    yolo = import_yolo()(str(weights))
    before, embeddings = baked_vocabulary(weights)
    encoded = encode(list(classes)).float()
    if encoded.shape != (len(classes), embeddings.shape[1]):
        raise VocabularyError(
            f"the text encoder gave {tuple(encoded.shape)} for {len(classes)} words; "
            f"{weights.name} needs {embeddings.shape[1]} values per word"
        )
    wanted = {word_key(word) for word in classes}
    kept = [row for row, word in enumerate(before) if word_key(word) not in wanted]
    words = [*classes, *(before[row] for row in kept)]
    set_vocabulary(yolo.model, words, torch.cat([encoded, embeddings[kept]]))
    staging = weights.with_name(f".{weights.name}.baking")
    yolo.save(str(staging))
    os.replace(staging, weights)
    return words


def openai_clip_text_encoder(pretrained: str | None = "openai") -> TextEncoder:
    """CLIP ViT-B/32's text tower with OpenAI's weights and tokenizer, the encoder
    YOLO-World was trained against (Ultralytics' own wrapper needs a package installed
    from git; open_clip is a dependency already). Fetches the weights (about 600 MB, from
    the Hugging Face hub): pull time only.
    ``pretrained=None`` builds it with random weights (tests)."""
    prepare_model_libraries()
    import open_clip

    model = open_clip.create_model("ViT-B-32-quickgelu", pretrained=pretrained).eval()
    tokenizer = open_clip.get_tokenizer("ViT-B-32-quickgelu")

    def encode(words: list[str]) -> torch.Tensor:
        with torch.no_grad():
            features = model.encode_text(tokenizer(words)).float()
        return torch.nn.functional.normalize(features, dim=-1)

    return encode


def _calibrate_text_heads(network: torch.nn.Module) -> None:
    """Demo weights only: the base calibration's aim for YOLO-World's score layers.

    Its class scores are no convolution but a contrastive head per stride (image
    feature . text embedding, times ``exp(logit_scale)``, plus ``bias``), initialised so
    that nothing fires. Their logits on the calibration photo are mapped affinely, the
    same for every stride, so the top ~0.2% of anchors score ~0.3 and the best ~0.8.
    """
    heads = list(network.model[-1].cv4)
    scale, quantile, low = calibration_affine(network, heads)
    with torch.no_grad():
        for head in heads:  # new logit = scale * (old - quantile) + low
            head.logit_scale.add_(math.log(scale))
            head.bias.copy_(scale * (head.bias - quantile) + low)
