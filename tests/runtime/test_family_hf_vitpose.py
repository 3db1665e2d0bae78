"""Family ``hf_vitpose`` on its demo weights (a tiny random ViTPose+ with two experts) and
real person crops: one COCO-ordered person per crop in crop pixels, batches that give
what single crops give, the COCO expert chosen, and the threshold on the mean score."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from ai.contracts.images import Box
from ai.enrichment.pose import pose_result
from ai.models.demo import write_demo_weights
from ai.runtime.backends import BackendOptions
from ai.runtime.catalog import load_catalog
from ai.runtime.device import select_device
from ai.runtime.families import families_for, get_family
from ai.runtime.families.hf_vitpose import HFVitPose
from ai.runtime.families.tasks import DetectInput, Detection, Task
from ai.runtime.resolve import resolve_weights
from tests.support.images import real_photo

ZIDANE_PEOPLE = [(700, 40, 1160, 720), (110, 190, 600, 720)]  # the two men in zidane.jpg
BUS_PEOPLE = [(45, 395, 250, 910), (215, 400, 350, 865), (665, 370, 810, 880)]  # people beside the bus


def crops(photo: str, boxes: list[tuple[int, int, int, int]]) -> list[Image.Image]:
    image = Image.open(real_photo(photo)).convert("RGB")
    return [image.crop(box) for box in boxes]


@pytest.fixture(scope="module")
def adapter(tmp_path_factory: pytest.TempPathFactory) -> HFVitPose:
    root = tmp_path_factory.mktemp("models")
    entry = load_catalog()["vitpose"]
    write_demo_weights(entry, root)
    resolution = resolve_weights(entry, root)
    assert resolution.path is not None and resolution.demo
    tmp = tmp_path_factory.mktemp("caches")
    options = BackendOptions(cache_dir=tmp / "cache", tensorrt_cache_dir=tmp / "trt", backend="pytorch", cpu_threads=1)
    loaded = HFVitPose(entry, resolution.path, select_device("cpu"), options)
    loaded.load()
    return loaded


def flat(points: list[tuple[float, ...]]) -> list[float]:
    return [value for point in points for value in point]


def assert_person(found: list[Detection], image: Image.Image) -> Detection:
    assert len(found) == 1
    person = found[0]
    assert (person.label, person.class_id) == ("person", 0)
    assert person.box == Box(0.0, 0.0, float(image.width), float(image.height))
    assert len(person.keypoints) == 17
    for x, y, score in person.keypoints:
        assert 0.0 <= x <= image.width and 0.0 <= y <= image.height
        assert 0.0 <= score <= 1.0
    assert person.confidence == pytest.approx(sum(s for _, _, s in person.keypoints) / 17)
    return person


def test_the_catalog_row_is_a_pose_family_with_a_mixture_of_experts_demo(adapter: HFVitPose) -> None:
    assert get_family(load_catalog()["vitpose"].family) is HFVitPose
    assert "hf_vitpose" in families_for(Task.POSE)
    assert adapter.experts == 2  # the ViTPose+ layout: dataset_index must be given
    assert adapter.model.config.backbone_config.num_experts == 2


def test_each_real_person_crop_gives_one_person_with_17_keypoints_inside_it(adapter: HFVitPose) -> None:
    images = crops("zidane.jpg", ZIDANE_PEOPLE)
    found = adapter.run_batch([DetectInput(image, 0.0) for image in images])
    assert len(found) == len(images)
    people = [assert_person(item, image) for item, image in zip(found, images, strict=True)]
    assert people[0].keypoints != people[1].keypoints  # the pixels matter


def test_a_batch_of_mixed_sizes_gives_what_each_crop_gives_alone(adapter: HFVitPose) -> None:
    images = crops("zidane.jpg", ZIDANE_PEOPLE) + crops("bus.jpg", BUS_PEOPLE)
    assert len({image.size for image in images}) == len(images)
    together = adapter.run_batch([DetectInput(image, 0.0) for image in images])
    for image, batched in zip(images, together, strict=True):
        alone = adapter.run_batch([DetectInput(image, 0.0)])[0]
        assert_person(batched, image)
        assert batched[0].confidence == pytest.approx(alone[0].confidence, abs=1e-4)
        assert flat(batched[0].keypoints) == pytest.approx(flat(alone[0].keypoints), abs=0.5)


def test_a_batch_is_one_forward_pass(adapter: HFVitPose) -> None:
    calls: list[int] = []
    hook = adapter.model.register_forward_hook(
        lambda _module, args, kwargs, _out: calls.append(len(kwargs["pixel_values"])), with_kwargs=True
    )
    try:
        adapter.run_batch([DetectInput(image, 0.0) for image in crops("bus.jpg", BUS_PEOPLE)])
    finally:
        hook.remove()
    assert calls == [3]


def test_the_coco_expert_is_the_one_that_runs(adapter: HFVitPose) -> None:
    image = crops("zidane.jpg", ZIDANE_PEOPLE[:1])[0]
    box = [[[0.0, 0.0, float(image.width), float(image.height)]]]
    pixels = adapter.processor(images=[image], boxes=box, return_tensors="pt")["pixel_values"]

    def keypoints_with(expert: int) -> list[tuple[float, float, float]]:
        with torch.inference_mode():
            outputs = adapter.model(pixel_values=pixels, dataset_index=torch.tensor([expert]))
        pose = adapter.processor.post_process_pose_estimation(outputs, boxes=box)[0][0]
        points = zip(pose["keypoints"].tolist(), pose["scores"].tolist(), strict=True)
        return [(min(max(x, 0), image.width), min(max(y, 0), image.height), min(max(s, 0), 1)) for (x, y), s in points]

    served = adapter.run_batch([DetectInput(image, 0.0)])[0][0].keypoints
    assert keypoints_with(0) != keypoints_with(1)
    assert flat(served) == pytest.approx(flat(keypoints_with(0)), abs=0.5)


def test_the_threshold_applies_to_the_mean_keypoint_score(adapter: HFVitPose) -> None:
    image = crops("bus.jpg", BUS_PEOPLE[:1])[0]
    person = adapter.run_batch([DetectInput(image, 0.0)])[0][0]
    above_every_score = max(s for _, _, s in person.keypoints) + 1e-3
    assert adapter.run_batch([DetectInput(image, above_every_score)]) == [[]]
    assert adapter.run_batch([DetectInput(image, person.confidence + 1e-6)]) == [[]]
    assert len(adapter.run_batch([DetectInput(image, person.confidence - 1e-6)])[0]) == 1
    assert adapter.run_batch([]) == []


def test_the_pose_endpoint_reads_the_output_as_it_reads_yolo_pose(adapter: HFVitPose) -> None:
    image = crops("zidane.jpg", ZIDANE_PEOPLE[:1])[0]
    people = adapter.run_batch([DetectInput(image, 0.0)])[0]
    result = pose_result(people, offset=(700.0, 40.0), keypoint_confidence=0.0)
    assert [k.name for k in result.keypoints][:3] == ["nose", "left_eye", "right_eye"]
    assert len(result.keypoints) == 17
    assert all(700.0 <= k.x <= 1160.0 and 40.0 <= k.y <= 720.0 for k in result.keypoints)
    assert result.person_confidence == pytest.approx(people[0].confidence, abs=1e-4)


def test_weights_are_found_only_where_a_checkpoint_is(tmp_path: Path) -> None:
    assert HFVitPose.find_weights(tmp_path) is None
    HFVitPose.write_demo(tmp_path, load_catalog()["vitpose"])
    assert HFVitPose.find_weights(tmp_path) == tmp_path
