"""Detect in frames on one model version: the one path every detection endpoint takes.

The model is asked once per image at the lowest score anyone needs (the caller's
threshold, or the observation floor of drift and active learning when lower); the
answer keeps what passes the caller's threshold and the class filter, while drift and
active learning see the same frames whatever threshold each caller sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ai.detector.metrics import note_version
from ai.runtime.errors import ServiceError
from ai.runtime.families.tasks import DetectInput, Detection, FrameDetections
from ai.runtime.image_request import DecodedImage

if TYPE_CHECKING:
    from ai.detector.service import DetectorService
    from ai.runtime.service import ServiceRuntime


@dataclass(frozen=True)
class Frame:
    image: DecodedImage
    detections: list[Detection]  # answered: >= the caller's threshold, in the class filter

    @property
    def width(self) -> int:
        return self.image.source_size[0]

    @property
    def height(self) -> int:
        return self.image.source_size[1]


@dataclass(frozen=True)
class Detected:
    frames: list[Frame]
    ms: float  # the forward pass they shared
    model: str  # the weights that answered
    version: str


async def detect_frames(
    runtime: ServiceRuntime,
    version: str,
    images: list[DecodedImage],
    confidence: float | None,
    camera_id: str | None,
) -> Detected:
    """Run ``images`` through ``version``'s model in one forward pass and record what
    drift monitoring and active learning need (neither blocks the answer)."""
    detector: DetectorService = runtime.service
    entry = detector.entry_for(version)
    note_version(version)
    settings = detector.settings
    threshold = settings.confidence if confidence is None else confidence
    floor = min(threshold, settings.observe_confidence)
    results = await runtime.infer(entry.name, [DetectInput(image.image, floor) for image in images])
    errors = [result for result in results if isinstance(result, ServiceError)]
    if errors:
        raise errors[0]
    frames = []
    ms = 0.0
    for image, result in zip(images, results, strict=True):
        assert not isinstance(result, ServiceError)
        found: FrameDetections = result.output
        ms = result.ms
        wanted = [d for d in found if d.label in detector.classes] if detector.classes else list(found)
        frames.append(Frame(image, [d for d in wanted if d.confidence >= threshold]))
        observed = [d for d in found if d.confidence >= settings.observe_confidence]
        detector.observe(version, image, observed, found.names, camera_id)
    detector.metrics.inference_seconds.labels(version=version).observe(ms / 1000.0)
    return Detected(frames, ms, detector.model_label(entry), version)
