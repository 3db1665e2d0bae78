"""The ``hf_xclip`` family on demo weights written by the project's own factory: clips of
any length come back as one probability per action, in the options' order; a batch
gives what each clip gives alone; the text embeddings stored at load give what
X-CLIP's own forward pass gives; and the options refuse a template without exactly one
``{}``."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from PIL import Image
from pydantic import ValidationError

from ai.models.demo import write_demo_weights
from ai.runtime.backends import BackendOptions
from ai.runtime.catalog import CatalogEntry, CatalogError, load_catalog
from ai.runtime.device import select_device
from ai.runtime.families import get_family
from ai.runtime.families.hf_xclip import DEFAULT_ACTIONS, XClipAdapter, XClipOptions, sample_frames
from ai.runtime.families.tasks import FramesInput, Task
from ai.runtime.resolve import resolve_weights
from tests.support.images import real_photo


@pytest.fixture(scope="module")
def entry() -> CatalogEntry:
    return load_catalog()["action_recognizer"]


@pytest.fixture(scope="module")
def weights(entry: CatalogEntry, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("xclip-models")
    write_demo_weights(entry, root)
    found = resolve_weights(entry, root)
    assert (found.origin, found.demo) == ("model-zoo", True)
    assert found.path is not None
    return found.path


def load(entry: CatalogEntry, weights: Path, tmp: Path) -> XClipAdapter:
    options = BackendOptions(cache_dir=tmp / "cache", tensorrt_cache_dir=tmp / "trt", backend="pytorch", cpu_threads=1)
    adapter = XClipAdapter(entry, weights, select_device("cpu"), options)
    adapter.load()
    return adapter


@pytest.fixture(scope="module")
def adapter(entry: CatalogEntry, weights: Path, tmp_path_factory: pytest.TempPathFactory) -> XClipAdapter:
    return load(entry, weights, tmp_path_factory.mktemp("xclip-cache"))


def clip(count: int, photo: str = "zidane.jpg") -> FramesInput:
    """``count`` real crops of a walk across the photo, each a little further right and
    of a slightly different size (as a tracker's boxes are)."""
    image = Image.open(real_photo(photo)).convert("RGB")
    frames = []
    for step in range(count):
        x, y = 40 + 37 * step, 20 + 5 * (step % 3)
        frames.append(image.crop((x, y, x + 180 + 4 * step, y + 360 - 3 * step)))
    return FramesInput(frames)


def test_the_catalog_row_is_served_by_this_family(entry: CatalogEntry) -> None:
    assert get_family(entry.family) is XClipAdapter
    assert XClipAdapter.tasks == frozenset({Task.CLASSIFY_FRAMES})
    assert XClipAdapter.options_of(entry) == XClipOptions()


def test_demo_weights_hold_an_8_frame_model_and_the_real_clip_tokenizer(adapter: XClipAdapter) -> None:
    assert adapter.num_frames == adapter.model.config.vision_config.num_frames == 8
    tokenizer = adapter.processor.tokenizer
    assert len(tokenizer) == 49408  # every OpenAI CLIP checkpoint's vocabulary
    assert tokenizer.convert_ids_to_tokens(tokenizer("walking")["input_ids"]) == [
        "<|startoftext|>",
        "walking</w>",
        "<|endoftext|>",
    ]


@pytest.mark.parametrize("count", [1, 3, 8, 12])
def test_any_clip_length_gives_one_probability_per_action_in_the_options_order(
    adapter: XClipAdapter, count: int
) -> None:
    (answer,) = adapter.run_batch([clip(count)])
    assert answer.labels == list(DEFAULT_ACTIONS)
    assert len(answer.probabilities) == len(DEFAULT_ACTIONS)
    assert all(0.0 <= p <= 1.0 for p in answer.probabilities)
    assert math.isclose(math.fsum(answer.probabilities), 1.0, abs_tol=1e-5)


def test_a_batch_gives_what_each_clip_gives_alone(adapter: XClipAdapter) -> None:
    clips = [clip(3), clip(8, "bus.jpg"), clip(12)]
    together = adapter.run_batch(clips)
    assert len(together) == len(clips)
    for item, batched in zip(clips, together, strict=True):
        (alone,) = adapter.run_batch([item])
        assert batched.probabilities == pytest.approx(alone.probabilities, abs=1e-5)
    assert together[0].probabilities != pytest.approx(together[1].probabilities, abs=1e-6)  # clips do differ


def test_stored_text_embeddings_give_what_x_clips_own_forward_pass_gives(adapter: XClipAdapter) -> None:
    clips = [clip(8), clip(8, "bus.jpg")]
    ours = adapter.run_batch(clips)
    frames = [frame.convert("RGB") for item in clips for frame in item.frames]
    pixels = adapter.processor.image_processor(images=frames, return_tensors="pt")["pixel_values"]
    pixels = pixels.reshape(len(clips), 8, *pixels.shape[-3:])
    tokens = adapter.processor.tokenizer(adapter.options.prompts(), padding=True, return_tensors="pt")
    with torch.inference_mode():
        theirs = adapter.model(pixel_values=pixels, **tokens).logits_per_video.softmax(dim=-1).tolist()
    for mine, reference in zip(ours, theirs, strict=True):
        assert mine.probabilities == pytest.approx(reference, abs=1e-5)


def test_running_never_recomputes_the_text_embeddings(adapter: XClipAdapter, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the text tower ran during run_batch")

    monkeypatch.setattr(adapter.model, "get_text_features", refuse)
    monkeypatch.setattr(adapter.model.text_model, "forward", refuse)
    (answer,) = adapter.run_batch([clip(5)])
    assert math.isclose(math.fsum(answer.probabilities), 1.0, abs_tol=1e-5)


def test_a_short_clip_is_stretched_and_a_long_one_sampled_evenly(adapter: XClipAdapter) -> None:
    frames = list(range(12))
    assert sample_frames(frames, 8) == [0, 2, 3, 5, 6, 8, 9, 11]  # type: ignore[arg-type]
    assert sample_frames(frames[:3], 8) == [0, 0, 0, 1, 1, 2, 2, 2]  # type: ignore[arg-type]
    assert sample_frames(frames[:8], 8) == frames[:8]  # type: ignore[arg-type]
    assert sample_frames(frames[:1], 8) == [0] * 8  # type: ignore[arg-type]
    short = clip(3)
    stretched = FramesInput([short.frames[i] for i in (0, 0, 0, 1, 1, 2, 2, 2)])
    assert adapter.run_batch([short])[0].probabilities == pytest.approx(
        adapter.run_batch([stretched])[0].probabilities, abs=1e-6
    )


def test_an_empty_clip_is_refused(adapter: XClipAdapter) -> None:
    with pytest.raises(ValueError, match="at least one frame"):
        adapter.run_batch([FramesInput([])])


def test_custom_actions_and_template_come_back_in_their_order(
    entry: CatalogEntry, weights: Path, tmp_path: Path
) -> None:
    actions = ["opening a gate", "walking a dog", "delivering a parcel"]
    custom = entry.model_copy(update={"options": {"actions": actions, "template": "a video of someone {}."}})
    adapter = load(custom, weights, tmp_path)
    assert adapter.options.prompts() == [f"a video of someone {action}." for action in actions]
    (answer,) = adapter.run_batch([clip(8)])
    assert answer.labels == actions
    assert math.isclose(math.fsum(answer.probabilities), 1.0, abs_tol=1e-5)


@pytest.mark.parametrize(
    "template",
    ["a video of a person", "a person {} and {}", "a person {0}", "a person {action}", "a person {} }"],
)
def test_a_template_without_exactly_one_placeholder_is_refused(entry: CatalogEntry, template: str) -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        XClipOptions(template=template)
    with pytest.raises(CatalogError, match="template"):
        XClipAdapter.options_of(entry.model_copy(update={"options": {"template": template}}))


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"actions": ["walking", "walking"]}, "repeat"),
        ({"actions": ["walking", " "]}, "empty"),
        ({"actions": ["walking"]}, "at least 2"),
        ({"labels": ["walking", "running"]}, "labels"),
    ],
)
def test_bad_actions_or_unknown_keys_are_refused(options: dict[str, object], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        XClipOptions.model_validate(options)
