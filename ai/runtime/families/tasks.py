"""What families do: each task names the input a family's ``run_batch`` takes per item
and the output it gives back, so an endpoint declares the task it needs and the
runtime checks at start-up that the hosted model's family provides it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from PIL import Image

from ai.contracts.images import Box


class Task(StrEnum):
    """Per item: DETECT and POSE take a :class:`DetectInput` and give ``list[Detection]``
    (POSE with keypoints); EMBED takes an image and gives an L2-normalised vector;
    CLASSIFY takes an image and gives a :class:`Classification`; DEPTH takes an image
    and gives a :class:`DepthMap`; EMBED_TEXT takes a string and gives a
    :class:`TextEmbedding` in the image embeddings' space; GENERATE takes a
    ``PromptInput`` (hf_florence) and gives the parsed answer; SEGMENT takes an image
    and gives a :class:`SegmentationMap`; CLASSIFY_FRAMES takes a :class:`FramesInput`
    (a short clip) and gives a :class:`Classification`; READ_TEXT takes an image and
    gives ``list[TextLine]``; EMBED_SENTENCE takes a string and gives an L2-normalised
    sentence vector (a text-only space, for semantic search). DETECT of an
    instance-segmentation family fills each detection's ``mask_area``."""

    DETECT = "detect"
    POSE = "pose"
    EMBED = "embed"
    CLASSIFY = "classify"
    DEPTH = "depth"
    EMBED_TEXT = "embed_text"
    GENERATE = "generate"
    SEGMENT = "segment"
    CLASSIFY_FRAMES = "classify_frames"
    READ_TEXT = "read_text"
    EMBED_SENTENCE = "embed_sentence"


@dataclass(frozen=True)
class DetectInput:
    """One image to detect in, with the request's own threshold and cap."""

    image: Image.Image
    confidence: float
    max_det: int = 300


@dataclass(frozen=True)
class Detection:
    label: str
    class_id: int
    confidence: float
    box: Box
    keypoints: list[tuple[float, float, float]] = field(default_factory=list)  # (x, y, confidence)
    mask_area: float | None = None  # pixels of the instance mask (segmentation families), input pixels


@dataclass(frozen=True)
class Classification:
    """Class probabilities of one image, in the model's label order."""

    labels: list[str]
    probabilities: list[float]

    @property
    def top(self) -> tuple[str, float]:
        best = max(range(len(self.labels)), key=self.probabilities.__getitem__)
        return self.labels[best], self.probabilities[best]

    def ranked(self) -> list[tuple[str, float]]:
        """(label, probability), best first."""
        return sorted(zip(self.labels, self.probabilities, strict=True), key=lambda pair: -pair[1])


@dataclass(frozen=True)
class DepthMap:
    """Depth per pixel at the input's size, larger = farther: metres when ``is_metric``,
    else relative depth normalised to 0 (nearest) .. 1 (farthest)."""

    values: np.ndarray
    is_metric: bool


@dataclass(frozen=True)
class SegmentationMap:
    """The class of every pixel at the input's size (``classes[y, x]`` indexes ``labels``)."""

    labels: list[str]
    classes: np.ndarray  # (height, width) integers


@dataclass(frozen=True)
class FramesInput:
    """A short clip of one subject: frames in time order, all cropped alike."""

    frames: list[Image.Image]


@dataclass(frozen=True)
class TextLine:
    """One line of text read in an image: its quad (four corners, clockwise from top
    left, input pixels) and the recogniser's confidence."""

    text: str
    confidence: float
    quad: tuple[tuple[float, float], tuple[float, float], tuple[float, float], tuple[float, float]]


class FrameDetections(list[Detection]):
    """One image's detections (a DETECT output), plus the model's class names: a dataset
    written from them or a report of what the model can see needs the whole list."""

    def __init__(self, detections: list[Detection], names: dict[int, str]) -> None:
        super().__init__(detections)
        self.names = names
