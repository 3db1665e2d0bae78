"""The Florence-2 endpoints, declared once: ``/extract`` for any task prompt and the
convenience routes for one task each. Generation runs on an inference thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ai.contracts.endpoints import Endpoint
from ai.contracts.florence import (
    CAPTION,
    CAPTION_PROMPTS,
    DENSE_CAPTION,
    DETECT,
    EXTRACT,
    OCR,
    OCR_REGIONS,
)
from ai.florence.answers import Placement, boxes_of, ocr_regions_of, polygons_of, text_of
from ai.florence.settings import FlorenceSettings
from ai.runtime.declarations import Call, ModelEndpoint
from ai.runtime.families.hf_florence import PromptInput
from ai.runtime.families.tasks import Task


def prompt_input(call: Call, task: str, text_input: str | None = None) -> PromptInput:
    """The model's input; a request's generation settings are capped at the service's."""
    settings: FlorenceSettings = call.settings
    body = call.body
    return PromptInput(
        image=call.image.image,
        task=task,
        text_input=text_input,
        max_new_tokens=min(body.max_new_tokens or settings.max_new_tokens, settings.max_new_tokens),
        num_beams=min(body.num_beams or settings.num_beams, settings.num_beams),
    )


def _common(call: Call, task: str) -> dict[str, Any]:
    width, height = call.image.source_size
    return {"task": task, "image_width": width, "image_height": height}


def _extract(call: Call, answer: Any) -> dict[str, Any]:
    place = Placement(call)
    return {
        **_common(call, call.body.prompt),
        "text": text_of(answer) if isinstance(answer, str) else None,
        "objects": boxes_of(answer, place),
        "ocr_regions": ocr_regions_of(answer, place),
        "polygons": polygons_of(answer, place),
    }


def _fixed(
    contract: Endpoint, task: str | Callable[[Call], str], fields: Callable[[Call, Any], dict[str, Any]]
) -> ModelEndpoint:
    """An endpoint that runs one task prompt (or one chosen from the body)."""
    choose = task if callable(task) else (lambda call: task)
    return ModelEndpoint(
        contract,
        Task.GENERATE,
        lambda call: prompt_input(call, choose(call)),
        lambda call, answer: {**_common(call, choose(call)), **fields(call, answer)},
    )


def _caption_task(call: Call) -> str:
    return CAPTION_PROMPTS[call.body.detail]


ENDPOINTS = (
    ModelEndpoint(
        EXTRACT, Task.GENERATE, lambda call: prompt_input(call, call.body.prompt, call.body.text_input), _extract
    ),
    _fixed(CAPTION, _caption_task, lambda call, answer: {"caption": text_of(answer)}),
    _fixed(OCR, "<OCR>", lambda call, answer: {"text": text_of(answer)}),
    _fixed(OCR_REGIONS, "<OCR_WITH_REGION>", lambda call, answer: {"regions": ocr_regions_of(answer, Placement(call))}),
    _fixed(DETECT, "<OD>", lambda call, answer: {"objects": boxes_of(answer, Placement(call))}),
    _fixed(
        DENSE_CAPTION, "<DENSE_REGION_CAPTION>", lambda call, answer: {"objects": boxes_of(answer, Placement(call))}
    ),
)
