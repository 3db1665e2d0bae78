"""``POST /open-vocab-detect``: boxes of the configured vocabulary (YOLO-World)."""

from __future__ import annotations

from functools import cache

from ai.contracts.enrichment_detail import OpenVocabItem, OpenVocabResult
from ai.contracts.enrichment_endpoints import OPEN_VOCAB
from ai.runtime.catalog import load_catalog
from ai.runtime.declarations import Call, ModelEndpoint
from ai.runtime.families import get_family
from ai.runtime.families.tasks import DetectInput, Detection, Task

MODEL = "open_vocab_detector"
MAX_BOXES = 100


@cache
def vocabulary() -> list[str]:
    """The words the detector is configured with (its catalog row's options)."""
    entry = load_catalog()[MODEL]
    family = get_family(entry.family)
    return list(getattr(family.options_of(entry), "classes", [])) if family else []


def open_vocab_result(detections: list[Detection], offset: tuple[float, float]) -> OpenVocabResult:
    dx, dy = offset
    return OpenVocabResult(
        detections=[
            OpenVocabItem(
                label=d.label,
                confidence=round(d.confidence, 4),
                bbox=[
                    round(d.box.x1 + dx, 1),
                    round(d.box.y1 + dy, 1),
                    round(d.box.x2 + dx, 1),
                    round(d.box.y2 + dy, 1),
                ],
            )
            for d in detections
        ],
        vocabulary=vocabulary(),
    )


def _prepare(call: Call) -> DetectInput:
    return DetectInput(call.image.image, call.settings.open_vocab_confidence, MAX_BOXES)


OPEN_VOCAB_ENDPOINT = ModelEndpoint(
    OPEN_VOCAB, Task.DETECT, _prepare, lambda call, out: open_vocab_result(out, call.offset)
)
