"""The Florence-2 service's HTTP contract (port 8092), shared by the service and the
backend's client. Every answer is parsed: boxes in pixels of the submitted image,
labels, text and OCR quads, never the model's raw ``<loc_...>`` tokens. Torch-free."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from ai.contracts.endpoints import Endpoint
from ai.contracts.images import ImageRequest

MODEL = "florence"

# Task prompt -> whether it needs `text_input` (the specification's prompts plus two
# grounding prompts that take a phrase).
TASK_PROMPTS: dict[str, bool] = {
    "<CAPTION>": False,
    "<DETAILED_CAPTION>": False,
    "<MORE_DETAILED_CAPTION>": False,
    "<OD>": False,
    "<DENSE_REGION_CAPTION>": False,
    "<OCR>": False,
    "<OCR_WITH_REGION>": False,
    "<CAPTION_TO_PHRASE_GROUNDING>": True,
    "<OPEN_VOCABULARY_DETECTION>": True,
}
CAPTION_PROMPTS = {"brief": "<CAPTION>", "detailed": "<DETAILED_CAPTION>", "more_detailed": "<MORE_DETAILED_CAPTION>"}

TEXT_INPUT = Field(
    None, min_length=1, max_length=512, description="Phrase for the grounding and open-vocabulary prompts"
)


class GenerationRequest(ImageRequest):
    """Generation settings a request may lower (never above the service's own)."""

    max_new_tokens: int | None = Field(None, ge=1, le=4096, description="At most FLORENCE_MAX_NEW_TOKENS")
    num_beams: int | None = Field(None, ge=1, le=10, description="At most FLORENCE_NUM_BEAMS")


class ExtractRequest(GenerationRequest):
    prompt: str = Field(description=f"One of {', '.join(TASK_PROMPTS)}")
    text_input: str | None = TEXT_INPUT

    @field_validator("prompt")
    @classmethod
    def _known_prompt(cls, value: str) -> str:
        if value not in TASK_PROMPTS:
            raise ValueError(f"unknown task prompt {value[:40]!r}; valid prompts: {', '.join(TASK_PROMPTS)}")
        return value

    @model_validator(mode="after")
    def _text_input_fits_prompt(self) -> ExtractRequest:
        takes_text = TASK_PROMPTS[self.prompt]
        if takes_text and not self.text_input:
            raise ValueError(f"{self.prompt} needs text_input (the phrase to find)")
        if not takes_text and self.text_input:
            raise ValueError(
                f"{self.prompt} takes no text_input; only {', '.join(p for p, t in TASK_PROMPTS.items() if t)} do"
            )
        return self


class CaptionRequest(GenerationRequest):
    detail: Literal["brief", "detailed", "more_detailed"] = Field(
        "brief", description="<CAPTION>, <DETAILED_CAPTION> or <MORE_DETAILED_CAPTION>"
    )


class LabeledBox(BaseModel):
    label: str
    bbox: list[float] = Field(min_length=4, max_length=4, description="[x1, y1, x2, y2] in pixels")


class OcrRegion(BaseModel):
    text: str
    quad_box: list[float] = Field(
        min_length=8, max_length=8, description="[x1, y1, x2, y2, x3, y3, x4, y4] corners in pixels, clockwise"
    )
    bbox: list[float] = Field(min_length=4, max_length=4, description="The quad's enclosing [x1, y1, x2, y2]")


class LabeledPolygon(BaseModel):
    label: str
    points: list[list[float]] = Field(description="[[x, y], ...] in pixels")


class FlorenceResponse(BaseModel):
    task: str = Field(description="The task prompt that ran")
    inference_time_ms: float
    image_width: int
    image_height: int


class ExtractResponse(FlorenceResponse):
    text: str | None = Field(None, description="Caption or OCR text (text tasks)")
    objects: list[LabeledBox] = Field(default_factory=list, description="Boxes (detection and grounding tasks)")
    ocr_regions: list[OcrRegion] = Field(default_factory=list, description="<OCR_WITH_REGION>")
    polygons: list[LabeledPolygon] = Field(default_factory=list, description="<OPEN_VOCABULARY_DETECTION> polygons")


class CaptionResponse(FlorenceResponse):
    caption: str


class OcrResponse(FlorenceResponse):
    text: str


class OcrRegionsResponse(FlorenceResponse):
    regions: list[OcrRegion]


class ObjectsResponse(FlorenceResponse):
    objects: list[LabeledBox]


EXTRACT = Endpoint(
    "/extract", ExtractRequest, ExtractResponse, MODEL, "Run one Florence-2 task prompt; the answer parsed."
)
CAPTION = Endpoint("/caption", CaptionRequest, CaptionResponse, MODEL, "A scene caption at the asked detail level.")
OCR = Endpoint("/ocr", GenerationRequest, OcrResponse, MODEL, "The text in the image (plates, signs).")
OCR_REGIONS = Endpoint(
    "/ocr-with-regions", GenerationRequest, OcrRegionsResponse, MODEL, "Text lines with their quad boxes."
)
DETECT = Endpoint("/detect", GenerationRequest, ObjectsResponse, MODEL, "Objects with labels and boxes (<OD>).")
DENSE_CAPTION = Endpoint(
    "/dense-caption", GenerationRequest, ObjectsResponse, MODEL, "A caption per region (<DENSE_REGION_CAPTION>)."
)
ENDPOINTS = (EXTRACT, CAPTION, OCR, OCR_REGIONS, DETECT, DENSE_CAPTION)
