"""Family ``ultralytics_world`` on its demo weights (a random YOLOv8n-worldv2 with the default
vocabulary baked in): it detects in real photos with the vocabulary's words, offline; a
vocabulary chosen from the baked words runs as Ultralytics' ``set_classes`` would; a word
that is not baked in, or an export of another vocabulary, fails the load naming the fix; and
the pull-time bake puts the freshly encoded classes first and keeps the checkpoint's other words."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from PIL import Image

from ai.models.demo import write_demo_weights
from ai.runtime.backends import BackendOptions
from ai.runtime.catalog import CatalogEntry, CatalogError, load_catalog
from ai.runtime.device import select_device
from ai.runtime.families import get_family, ultralytics_world
from ai.runtime.families.tasks import DetectInput, Detection, Task
from ai.runtime.families.ultralytics_base import import_yolo
from ai.runtime.families.ultralytics_world import (
    DEFAULT_CLASSES,
    UltralyticsWorld,
    VocabularyError,
    bake_vocabulary,
    baked_vocabulary,
    openai_clip_text_encoder,
)
from ai.runtime.resolve import resolve_weights
from tests.support.images import real_photo

THRESHOLD = 0.3


@pytest.fixture(scope="module")
def entry() -> CatalogEntry:
    return load_catalog()["open_vocab_detector"]


def configured(entry: CatalogEntry, classes: list[str]) -> CatalogEntry:
    return entry.model_copy(update={"options": {**entry.options, "classes": classes}})


@pytest.fixture(scope="module")
def weights(entry: CatalogEntry, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("world-models")
    write_demo_weights(entry, root)
    found = resolve_weights(entry, root)
    assert found.demo and found.path is not None
    return found.path


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("world-cache")


def load(entry: CatalogEntry, weights: Path, backend: str, cache: Path) -> UltralyticsWorld:
    options = BackendOptions(
        cache_dir=cache / "cache", tensorrt_cache_dir=cache / "trt", backend=backend, cpu_threads=1
    )
    adapter = UltralyticsWorld(entry, weights, select_device("cpu"), options)
    adapter.load()
    return adapter


@pytest.fixture(scope="module")
def onnx(entry: CatalogEntry, weights: Path, cache: Path) -> UltralyticsWorld:
    return load(entry, weights, "onnxruntime", cache)


def photos() -> list[Image.Image]:
    return [Image.open(real_photo(name)).convert("RGB") for name in ("bus.jpg", "zidane.jpg")]


def assert_same(first: list[Detection], second: list[Detection]) -> None:
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        assert (a.label, a.class_id) == (b.label, b.class_id)
        assert a.confidence == pytest.approx(b.confidence, abs=2e-3)
        assert a.box == pytest.approx(b.box, abs=1.0)


def test_the_catalog_row_gets_the_security_vocabulary_by_default(entry: CatalogEntry) -> None:
    assert get_family(entry.family) is UltralyticsWorld and UltralyticsWorld.tasks == {Task.DETECT}
    options = UltralyticsWorld.options_of(entry)
    assert options.classes == list(DEFAULT_CLASSES)
    assert {"person", "package", "crowbar", "fire"} <= set(options.classes)
    assert (options.input_size, options.iou) == (640, 0.7)


def test_a_vocabulary_naming_a_word_twice_is_refused(entry: CatalogEntry) -> None:
    with pytest.raises(CatalogError, match="listed twice"):
        UltralyticsWorld.options_of(configured(entry, ["person", "Person "]))
    with pytest.raises(CatalogError, match="classes"):
        UltralyticsWorld.options_of(configured(entry, []))


def test_the_demo_weights_carry_the_default_vocabulary_as_unit_text_embeddings(weights: Path) -> None:
    words, embeddings = baked_vocabulary(weights)
    assert words == list(DEFAULT_CLASSES)
    assert embeddings.shape == (len(DEFAULT_CLASSES), 512)
    assert torch.allclose(embeddings.norm(dim=-1), torch.ones(len(words)), atol=1e-3)


def test_detections_in_real_photos_are_labelled_with_the_vocabulary(onnx: UltralyticsWorld) -> None:
    assert onnx.backend == "onnxruntime"
    images = photos()
    found = onnx.run_batch([DetectInput(image, THRESHOLD) for image in images])
    assert len(found[0]) > 0  # the calibrated demo head fires on the bus photo
    for image, detections in zip(images, found, strict=True):
        for d in detections:
            assert d.label in DEFAULT_CLASSES and DEFAULT_CLASSES[d.class_id] == d.label
            assert d.confidence >= THRESHOLD
            assert 0 <= d.box.x1 < d.box.x2 <= image.width and 0 <= d.box.y1 < d.box.y2 <= image.height


def test_a_batch_gives_what_each_image_gives_alone(onnx: UltralyticsWorld) -> None:
    inputs = [DetectInput(image, THRESHOLD) for image in photos()]
    together = onnx.run_batch([*inputs, *inputs])
    assert len(together) == 4
    for item, batched in zip([*inputs, *inputs], together, strict=True):
        assert_same(batched, onnx.run_batch([item])[0])


def test_a_word_not_baked_in_fails_the_load_naming_the_pull_that_bakes_it(
    entry: CatalogEntry, weights: Path, cache: Path
) -> None:
    with pytest.raises(VocabularyError) as failure:
        load(configured(entry, ["person", "drone"]), weights, "onnxruntime", cache)
    message = str(failure.value)
    assert "['drone']" in message and "python -m ai.models pull open_vocab_detector" in message
    assert "person" in message  # the baked words the operator may choose from instead


def test_words_chosen_from_the_baked_vocabulary_run_as_set_classes_would(
    entry: CatalogEntry, weights: Path, cache: Path
) -> None:
    classes = ["dog", "Person"]  # a subset, reordered, spelled differently: no text model needed
    adapter = load(configured(entry, classes), weights, "pytorch", cache)
    assert adapter.model.model.names == {0: "dog", 1: "Person"}
    words, embeddings = baked_vocabulary(weights)
    rows = [words.index("dog"), words.index("person")]
    assert torch.equal(adapter.model.model.txt_feats[0].float(), embeddings[rows])

    # Ultralytics' own set_classes, its text model replaced by the baked embeddings.
    reference = import_yolo()(str(weights))
    reference.model.get_text_pe = lambda text, **_: embeddings[rows][None]
    reference.set_classes(classes)
    bus = photos()[0]
    expected = reference.predict([bus], conf=0.05, imgsz=640, device="cpu", verbose=False)[0]
    found = adapter.run_batch([DetectInput(bus, 0.05)])[0]
    assert len(found) == len(expected.boxes) > 0
    assert sorted(d.confidence for d in found) == pytest.approx(sorted(expected.boxes.conf.tolist()), abs=1e-4)
    assert {d.label for d in found} <= set(classes)


def test_an_export_of_another_vocabulary_is_refused(
    entry: CatalogEntry, weights: Path, cache: Path, onnx: UltralyticsWorld
) -> None:
    exported = next((cache / "cache" / "onnx").glob("*/model.onnx"))  # the default vocabulary's export
    assert load(entry, exported, "auto", cache).backend == "onnxruntime"
    with pytest.raises(VocabularyError, match="vocabulary is fixed"):
        load(configured(entry, ["dog", "person"]), exported, "auto", cache)


def fake_encoder(calls: list[list[str]]) -> ultralytics_world.TextEncoder:
    def encode(words: list[str]) -> torch.Tensor:
        calls.append(list(words))
        return torch.nn.functional.normalize(torch.randn(len(words), 512), dim=-1)

    return encode


def test_baking_puts_the_encoded_classes_first_and_keeps_the_other_words(
    entry: CatalogEntry, weights: Path, cache: Path, tmp_path: Path
) -> None:
    pulled = tmp_path / "open_vocab_detector.pt"
    shutil.copyfile(weights, pulled)
    _words, before = baked_vocabulary(pulled)
    calls: list[list[str]] = []
    baked = bake_vocabulary(pulled, ["drone", "person", "truck"], fake_encoder(calls))
    assert calls == [["drone", "person", "truck"]]  # a configured word is always encoded by this encoder
    rest = [word for word in DEFAULT_CLASSES if word != "person"]
    assert baked == ["drone", "person", "truck", *rest]
    words, after = baked_vocabulary(pulled)
    assert words == baked
    assert not torch.equal(after[1], before[DEFAULT_CLASSES.index("person")])
    assert torch.equal(after[3:], before[[DEFAULT_CLASSES.index(word) for word in rest]])

    adapter = load(configured(entry, ["drone", "dog"]), pulled, "pytorch", cache)  # now offline
    assert adapter.model.model.names == {0: "drone", 1: "dog"}
    for detections in adapter.run_batch([DetectInput(image, THRESHOLD) for image in photos()]):
        assert {d.label for d in detections} <= {"drone", "dog"}


def test_after_pull_bakes_the_rows_configured_vocabulary(
    entry: CatalogEntry, weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copyfile(weights, tmp_path / "yolov8s-worldv2.pt")
    calls: list[list[str]] = []
    monkeypatch.setattr(ultralytics_world, "openai_clip_text_encoder", lambda: fake_encoder(calls))
    UltralyticsWorld.after_pull(tmp_path, configured(entry, ["ladder", "garden gnome"]))
    assert calls == [["ladder", "garden gnome"]]
    assert baked_vocabulary(tmp_path / "yolov8s-worldv2.pt")[0][:2] == ["ladder", "garden gnome"]


def test_the_clip_text_encoder_gives_one_unit_embedding_of_yolo_worlds_size_per_word() -> None:
    encode = openai_clip_text_encoder(pretrained=None)  # the real architecture and tokenizer, random weights
    embeddings = encode(["person", "a red car", "crowbar"])
    assert embeddings.shape == (3, 512)
    assert torch.allclose(embeddings.norm(dim=-1), torch.ones(3), atol=1e-4)
    assert not torch.allclose(embeddings[0], embeddings[1])
    assert torch.allclose(encode(["a red car"])[0], embeddings[1], atol=1e-5)  # each word is encoded alone
