"""Family ``ultralytics_segment`` on its demo weights (a random YOLO11n-seg written with the
``vehicle_damage`` row's labels): it loads through the production path, finds instances in
real photos with masks inside their boxes, measured in the input's pixels, and a batch
gives what each image gives alone."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from ai.models.demo import write_demo_weights
from ai.runtime.backends import BackendOptions
from ai.runtime.catalog import CatalogEntry, load_catalog
from ai.runtime.device import select_device
from ai.runtime.families import get_family
from ai.runtime.families.tasks import DetectInput, Detection, Task
from ai.runtime.families.ultralytics_segment import UltralyticsSegment, mask_areas
from ai.runtime.resolve import resolve_weights
from tests.support.images import real_photo

THRESHOLD = 0.25


@pytest.fixture(scope="module")
def entry() -> CatalogEntry:
    return load_catalog()["vehicle_damage"]


@pytest.fixture(scope="module")
def weights(entry: CatalogEntry, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("segment-models")
    write_demo_weights(entry, root)
    found = resolve_weights(entry, root)
    assert found.demo and found.path is not None
    return found.path


def load(entry: CatalogEntry, weights: Path, backend: str, tmp: Path) -> UltralyticsSegment:
    options = BackendOptions(cache_dir=tmp / "cache", tensorrt_cache_dir=tmp / "trt", backend=backend, cpu_threads=1)
    adapter = UltralyticsSegment(entry, weights, select_device("cpu"), options)
    adapter.load()
    return adapter


@pytest.fixture(scope="module")
def onnx(entry: CatalogEntry, weights: Path, tmp_path_factory: pytest.TempPathFactory) -> UltralyticsSegment:
    return load(entry, weights, "onnxruntime", tmp_path_factory.mktemp("segment-cache"))


def photos() -> list[Image.Image]:
    return [Image.open(real_photo(name)).convert("RGB") for name in ("bus.jpg", "zidane.jpg")]


def test_the_catalog_row_names_this_family_for_detect(entry: CatalogEntry) -> None:
    assert get_family(entry.family) is UltralyticsSegment
    assert UltralyticsSegment.tasks == {Task.DETECT}


def test_demo_weights_reload_as_a_segmentation_model_with_the_rows_labels(
    entry: CatalogEntry, weights: Path, tmp_path: Path
) -> None:
    adapter = load(entry, weights, "pytorch", tmp_path)
    assert adapter.model.task == "segment"
    assert list(adapter.model.names.values()) == entry.labels


def test_instances_in_real_photos_have_labelled_boxes_and_masks_inside_them(
    onnx: UltralyticsSegment, entry: CatalogEntry
) -> None:
    assert onnx.backend == "onnxruntime"
    images = photos()
    found = onnx.run_batch([DetectInput(image, THRESHOLD) for image in images])
    assert len(found[0]) > 0  # the calibrated demo head fires on the bus photo
    for image, detections in zip(images, found, strict=True):
        assert [d.confidence for d in detections] == sorted((d.confidence for d in detections), reverse=True)
        for d in detections:
            assert d.label in entry.labels and entry.labels[d.class_id] == d.label
            assert d.confidence >= THRESHOLD
            assert 0 <= d.box.x1 < d.box.x2 <= image.width and 0 <= d.box.y1 < d.box.y2 <= image.height
            assert d.mask_area is not None
            # The mask is cropped to its box; a letterbox pixel at the box's edge may count whole.
            assert 0 < d.mask_area <= d.box.width * d.box.height * 1.05 + 2 * (d.box.width + d.box.height)


def assert_same(first: list[Detection], second: list[Detection]) -> None:
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        assert (a.label, a.class_id) == (b.label, b.class_id)
        assert a.confidence == pytest.approx(b.confidence, abs=2e-3)
        assert a.box == pytest.approx(b.box, abs=1.0)
        assert a.mask_area == pytest.approx(b.mask_area, rel=0.02, abs=4.0)


def test_a_batch_gives_what_each_image_gives_alone(onnx: UltralyticsSegment) -> None:
    inputs = [DetectInput(image, THRESHOLD) for image in photos()]
    together = onnx.run_batch([*inputs, inputs[0]])
    assert len(together) == 3
    for item, batched in zip([*inputs, inputs[0]], together, strict=True):
        assert_same(batched, onnx.run_batch([item])[0])


def test_each_input_keeps_its_own_threshold_in_a_shared_batch(onnx: UltralyticsSegment) -> None:
    bus = photos()[0]
    alone = onnx.run_batch([DetectInput(bus, THRESHOLD)])[0]
    cut = alone[len(alone) // 2].confidence
    strict, loose = onnx.run_batch([DetectInput(bus, cut), DetectInput(bus, THRESHOLD)])
    assert 0 < len(strict) < len(loose)
    assert_same(strict, [d for d in alone if d.confidence >= cut])
    assert_same(loose, alone)


def test_mask_area_counts_the_letterbox_content_in_input_pixels() -> None:
    # A 100x200 (h x w) image letterboxed into 320x320: scaled by 1.6 to 160x320, 80 rows of padding above and below.
    masks = torch.zeros((3, 320, 320), dtype=torch.uint8)
    masks[0, 80:240, :] = 1  # the whole image
    masks[1, :80, :] = 1  # padding only
    masks[2, 80:160, 0:160] = 1  # its top-left quarter, spilling into the padding above
    masks[2, 0:80, 0:160] = 1
    assert mask_areas(masks, (100, 200)) == pytest.approx([20000.0, 0.0, 5000.0])


def test_mask_area_of_an_unpadded_letterbox_is_the_pixel_count_times_the_area_ratio() -> None:
    masks = torch.zeros((1, 64, 64), dtype=torch.uint8)
    masks[0, :8, :4] = 1  # 32 pixels, each standing for 10x10 input pixels
    assert mask_areas(masks, (640, 640)) == pytest.approx([3200.0])
