"""Family ``hf_segmentation`` on its own demo weights (written by the project's factory,
found by the resolver, loaded by the production ``load``) and real photo crops: one
class per input pixel at each crop's own size, the checkpoint's labels, one forward
pass per batch, and a batch that gives what single runs give."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ai.models.demo import write_demo_weights
from ai.runtime.backends import BackendOptions
from ai.runtime.catalog import CatalogEntry, load_catalog
from ai.runtime.device import select_device
from ai.runtime.families import get_family
from ai.runtime.families.hf_segmentation import HFSegmentation
from ai.runtime.families.tasks import SegmentationMap, Task
from ai.runtime.resolve import resolve_weights
from tests.support.images import real_photo


def load(entry: CatalogEntry, root: Path) -> HFSegmentation:
    write_demo_weights(entry, root)
    resolution = resolve_weights(entry, root)
    assert resolution.path is not None and resolution.demo
    options = BackendOptions(cache_dir=root / "c", tensorrt_cache_dir=root / "trt", backend="pytorch", cpu_threads=1)
    adapter = get_family(entry.family)(entry, resolution.path, select_device("cpu"), options)
    adapter.load()
    return adapter


@pytest.fixture(scope="module")
def entry() -> CatalogEntry:
    return load_catalog()["clothing_segmenter"]


@pytest.fixture(scope="module")
def segmenter(entry: CatalogEntry, tmp_path_factory: pytest.TempPathFactory) -> HFSegmentation:
    return load(entry, tmp_path_factory.mktemp("models"))


def crops() -> list[Image.Image]:
    """Person-sized crops of real photos, each of a different size and aspect ratio."""
    bus = Image.open(real_photo("bus.jpg")).convert("RGB")
    zidane = Image.open(real_photo("zidane.jpg")).convert("RGB")
    return [
        bus.crop((50, 400, 250, 900)),
        zidane.crop((700, 40, 1150, 720)),
        bus.crop((220, 400, 351, 861)),
        zidane.crop((100, 200, 400, 720)),
    ]


def test_the_catalog_row_names_this_family_for_segmentation(entry: CatalogEntry) -> None:
    assert get_family(entry.family) is HFSegmentation
    assert HFSegmentation.tasks == frozenset({Task.SEGMENT})


def test_each_map_has_its_inputs_size_and_valid_classes(segmenter: HFSegmentation, entry: CatalogEntry) -> None:
    images = crops()
    maps = segmenter.run_batch(images)
    assert len(maps) == len(images)
    for image, found in zip(images, maps, strict=True):
        assert isinstance(found, SegmentationMap)
        assert found.classes.shape == (image.height, image.width)
        assert np.issubdtype(found.classes.dtype, np.integer)
        assert found.classes.min() >= 0 and found.classes.max() < len(entry.labels)
        assert found.labels == entry.labels


def test_a_batch_is_one_forward_pass_and_gives_what_single_runs_give(segmenter: HFSegmentation) -> None:
    images = crops()
    calls: list[int] = []
    hook = segmenter.model.register_forward_hook(lambda _module, _args, out: calls.append(len(out.logits)))
    try:
        together = segmenter.run_batch(images)
    finally:
        hook.remove()
    assert calls == [len(images)]
    for image, batched in zip(images, together, strict=True):
        alone = segmenter.run_batch([image])[0]
        assert batched.classes.shape == alone.classes.shape
        # A batched matmul rounds differently at about 1e-7 and random-weight logits lie
        # about 1e-3 apart, so a few near-tie pixels of a map may flip; nothing more may.
        assert (batched.classes != alone.classes).mean() < 1e-3


def test_maps_are_the_upsampled_logits_argmax_as_transformers_defines_it(segmenter: HFSegmentation) -> None:
    """The processor's own post-processing (upsample each item's logits to its target
    size, then argmax) is the reference; a map resized after the argmax, or one upsampled
    to another image's size, differs from it."""
    images = crops()[:2]
    maps = segmenter.run_batch(images)
    batch = segmenter.processor(images=images, return_tensors="pt")
    with torch.inference_mode():
        outputs = segmenter.model(**batch)
    reference = segmenter.processor.post_process_semantic_segmentation(
        outputs, target_sizes=[(image.height, image.width) for image in images]
    )
    for found, expected in zip(maps, reference, strict=True):
        assert np.array_equal(found.classes, expected.numpy())
    assert len(np.unique(maps[1].classes)) > 1, "random weights still separate regions of a real photo"


def test_labels_come_from_the_checkpoint(entry: CatalogEntry, tmp_path: Path) -> None:
    other = entry.model_copy(update={"name": "sky_segmenter", "labels": ["ground", "sky", "water"]})
    adapter = load(other, tmp_path)
    assert adapter.labels == ["ground", "sky", "water"]
    found = adapter.run_batch([crops()[0]])[0]
    assert found.labels == ["ground", "sky", "water"] and found.classes.max() < 3
