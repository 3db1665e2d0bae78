"""The ``open_clip_zero_shot`` family on demo weights written by the project's own factory
and opened by the production load path: every person crop gets one probability per
option label, in the options' order, summing to 1; the numbers are open_clip's own
softmax(logit_scale * cosine + logit_bias) with the label embeddings stored at load; a
batch gives what each crop gives alone; a SigLIP-style checkpoint (logit bias, Hugging
Face tokenizer in the folder) loads offline; and the options refuse bad templates and
labels."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
import torch
from PIL import Image

from ai.models.demo import write_demo_weights
from ai.runtime.backends import BackendOptions
from ai.runtime.catalog import CatalogEntry, CatalogError, load_catalog
from ai.runtime.device import select_device
from ai.runtime.families import get_family
from ai.runtime.families.hf_clip import clip_tokenizer
from ai.runtime.families.open_clip_zero_shot import (
    DEFAULT_LABELS,
    DEFAULT_TEMPLATE,
    OpenClipZeroShot,
    OpenClipZeroShotOptions,
    import_open_clip,
    prompts,
)
from ai.runtime.families.tasks import Task
from ai.runtime.resolve import resolve_weights
from tests.support.images import real_photo

# People in the real photos (left, top, right, bottom), roughly as a detector boxes them.
PEOPLE = {
    "bus.jpg": [(50, 400, 250, 900), (220, 405, 345, 860), (670, 380, 810, 880)],
    "zidane.jpg": [(745, 40, 1140, 715), (140, 200, 1100, 715)],
}


@pytest.fixture(scope="module")
def entry() -> CatalogEntry:
    return load_catalog()["clothing_classifier"]


@pytest.fixture(scope="module")
def weights(entry: CatalogEntry, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("open-clip-models")
    write_demo_weights(entry, root)
    found = resolve_weights(entry, root)
    assert (found.origin, found.demo) == ("model-zoo", True)
    assert found.path is not None
    return found.path


def load(entry: CatalogEntry, weights: Path, tmp: Path) -> OpenClipZeroShot:
    options = BackendOptions(cache_dir=tmp / "cache", tensorrt_cache_dir=tmp / "trt", backend="pytorch", cpu_threads=1)
    adapter = OpenClipZeroShot(entry, weights, select_device("cpu"), options)
    adapter.load()
    return adapter


@pytest.fixture(scope="module")
def adapter(entry: CatalogEntry, weights: Path, tmp_path_factory: pytest.TempPathFactory) -> OpenClipZeroShot:
    return load(entry, weights, tmp_path_factory.mktemp("open-clip-cache"))


@pytest.fixture(scope="module")
def crops() -> list[Image.Image]:
    found = []
    for photo, boxes in PEOPLE.items():
        image = Image.open(real_photo(photo)).convert("RGB")
        found += [image.crop(box) for box in boxes]
    return found


def with_options(entry: CatalogEntry, **options: object) -> CatalogEntry:
    return entry.model_copy(update={"options": options})


def test_the_catalog_row_is_served_by_this_family(entry: CatalogEntry) -> None:
    assert get_family(entry.family) is OpenClipZeroShot
    assert OpenClipZeroShot.tasks == frozenset({Task.CLASSIFY})
    assert OpenClipZeroShot.options_of(entry) == OpenClipZeroShotOptions()
    assert OpenClipZeroShotOptions().labels == list(DEFAULT_LABELS)


def test_demo_weights_are_in_open_clips_layout(weights: Path) -> None:
    assert OpenClipZeroShot.find_weights(weights) == weights
    assert (weights / "open_clip_model.safetensors").is_file()
    config = json.loads((weights / "open_clip_config.json").read_text())
    assert config["model_cfg"]["text_cfg"]["vocab_size"] == 49408  # the standard CLIP BPE
    assert OpenClipZeroShot.find_weights(weights.parent) is None


def test_each_crop_gets_a_distribution_over_the_option_labels_in_order(
    adapter: OpenClipZeroShot, crops: list[Image.Image]
) -> None:
    answers = adapter.run_batch(crops)
    assert len(answers) == len(crops)
    for answer in answers:
        assert answer.labels == list(DEFAULT_LABELS)
        assert len(answer.probabilities) == len(DEFAULT_LABELS)
        assert all(0.0 <= p <= 1.0 for p in answer.probabilities)
        assert math.isclose(math.fsum(answer.probabilities), 1.0, abs_tol=1e-5)
    assert answers[0].probabilities != answers[-1].probabilities  # the image matters


def test_probabilities_are_open_clips_zero_shot_softmax(
    adapter: OpenClipZeroShot, weights: Path, crops: list[Image.Image]
) -> None:
    """Computed independently with open_clip's own model, transform and tokenizer."""
    open_clip = import_open_clip()
    model, preprocess = open_clip.create_model_from_pretrained(f"local-dir:{weights}")
    tokens = open_clip.get_tokenizer(f"local-dir:{weights}")(prompts(adapter.options))
    assert prompts(adapter.options)[0] == DEFAULT_TEMPLATE.format(DEFAULT_LABELS[0])
    with torch.inference_mode():
        image = model.encode_image(preprocess(crops[0]).unsqueeze(0), normalize=True)
        text = model.encode_text(tokens, normalize=True)
        expected = (model.logit_scale.exp() * image @ text.T).softmax(dim=-1)[0].tolist()
    assert adapter.run_batch([crops[0]])[0].probabilities == pytest.approx(expected, abs=1e-5)


def test_label_embeddings_are_computed_once_at_load(
    adapter: OpenClipZeroShot, crops: list[Image.Image], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("run_batch ran the text tower")

    monkeypatch.setattr(adapter.model, "encode_text", refuse)
    assert len(adapter.run_batch(crops[:2])) == 2
    assert adapter.text_features.shape == (len(DEFAULT_LABELS), 32)


def test_a_batch_gives_what_each_crop_gives_alone(adapter: OpenClipZeroShot, crops: list[Image.Image]) -> None:
    together = adapter.run_batch(crops)
    for crop, batched in zip(crops, together, strict=True):
        alone = adapter.run_batch([crop])[0]
        assert alone.labels == batched.labels
        assert alone.probabilities == pytest.approx(batched.probabilities, abs=1e-5)


def test_the_options_labels_and_template_are_used(
    entry: CatalogEntry, weights: Path, crops: list[Image.Image], tmp_path: Path
) -> None:
    labels = ["hoodie", "suit", "high-visibility vest"]
    custom = load(with_options(entry, labels=labels, template="a person in a {}"), weights, tmp_path)
    answer = custom.run_batch([crops[0]])[0]
    assert answer.labels == labels and len(answer.probabilities) == 3
    plain = load(with_options(entry, labels=labels), weights, tmp_path).run_batch([crops[0]])[0]
    assert plain.probabilities != pytest.approx(answer.probabilities, abs=1e-6)  # the template reaches the text


def test_a_siglip_style_checkpoint_loads_its_tokenizer_from_the_folder(
    weights: Path, entry: CatalogEntry, crops: list[Image.Image], tmp_path: Path
) -> None:
    """FashionSigLIP's layout: a logit bias and ``hf_tokenizer_name`` in the config, with the
    tokenizer's files beside the weights; nothing is fetched."""
    open_clip = import_open_clip()
    folder = tmp_path / "siglip"
    folder.mkdir()
    config = json.loads((weights / "open_clip_config.json").read_text())
    config["model_cfg"]["init_logit_bias"] = -10.0
    config["model_cfg"]["text_cfg"]["hf_tokenizer_name"] = "timm/ViT-B-16-SigLIP"  # named, never fetched
    config["model_cfg"]["text_cfg"]["context_length"] = 16
    (folder / "open_clip_config.json").write_text(json.dumps(config))
    model = open_clip.CLIP(**config["model_cfg"])
    torch.save(model.state_dict(), folder / "open_clip_pytorch_model.bin")
    assert OpenClipZeroShot.find_weights(folder) == folder

    with pytest.raises(FileNotFoundError, match="tokenizer"):
        load(entry, folder, tmp_path)

    clip_tokenizer().save_pretrained(folder)
    siglip = load(entry, folder, tmp_path)
    assert siglip.logit_bias == -10.0
    answer = siglip.run_batch(crops[:2])
    assert all(math.isclose(math.fsum(a.probabilities), 1.0, abs_tol=1e-5) for a in answer)
    assert answer[0].labels == list(DEFAULT_LABELS)


def test_a_file_path_variable_opens_its_folder(entry: CatalogEntry, weights: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(weights, copy)
    adapter = load(entry, copy / "open_clip_model.safetensors", tmp_path)
    assert len(adapter.run_batch([Image.new("RGB", (40, 90), "orange")])[0].labels) == len(DEFAULT_LABELS)


@pytest.mark.parametrize(
    "template",
    [
        "a photo of a person",
        "a {} wearing a {}",
        "a person wearing {label}",
        "a person in {0}",
        "a {!r}",
        "a {",
        "{:>9}",
    ],
)
def test_a_template_without_exactly_one_plain_placeholder_is_refused(entry: CatalogEntry, template: str) -> None:
    with pytest.raises(CatalogError, match="template"):
        OpenClipZeroShot.options_of(with_options(entry, template=template))


@pytest.mark.parametrize(
    "labels",
    [["hoodie"], ["hoodie", "hoodie", "coat"], ["hoodie", "  "]],
    ids=["one label", "repeated", "blank"],
)
def test_bad_label_sets_are_refused(entry: CatalogEntry, labels: list[str]) -> None:
    with pytest.raises(CatalogError, match="labels"):
        OpenClipZeroShot.options_of(with_options(entry, labels=labels))


def test_unknown_options_are_refused(entry: CatalogEntry) -> None:
    with pytest.raises(CatalogError, match="accepted: labels, template"):
        OpenClipZeroShot.options_of(with_options(entry, prompt="a {}"))
