"""The Florence-2 service over real HTTP on demo weights: every endpoint's documented
shape, prompt validation, generation bounds and bad input."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ai.contracts.florence import TASK_PROMPTS
from ai.florence.service import FlorenceService
from tests.support.images import b64, jpeg_bytes
from tests.support.model_servers import model_server

IMAGE = b64(jpeg_bytes(320, 240))


@pytest.fixture(scope="module")
def florence(florence_models: Path) -> Iterator[str]:
    with model_server(FlorenceService, florence_models, FLORENCE_MAX_NEW_TOKENS="12") as url:
        yield url


def post(url: str, path: str, **body: object) -> httpx.Response:
    return httpx.post(f"{url}{path}", json={"image": IMAGE, **body}, timeout=60)


@pytest.mark.parametrize(
    ("prompt", "text_input"),
    [(p, "a person" if takes_text else None) for p, takes_text in TASK_PROMPTS.items()],
)
def test_extract_runs_every_task_prompt(florence: str, prompt: str, text_input: str | None) -> None:
    response = post(florence, "/extract", prompt=prompt, text_input=text_input)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["task"] == prompt
    assert (answer["image_width"], answer["image_height"]) == (320, 240)
    assert answer["inference_time_ms"] > 0
    assert set(answer) >= {"text", "objects", "ocr_regions", "polygons"}
    assert "loc_" not in response.text.replace(prompt, "")  # parsed, never raw location tokens (or halves)
    for item in answer["objects"]:
        assert len(item["bbox"]) == 4


def test_unknown_prompt_is_422_listing_the_valid_ones(florence: str) -> None:
    response = post(florence, "/extract", prompt="<SEGMENT_EVERYTHING>")
    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert all(prompt in message for prompt in TASK_PROMPTS)


def test_text_input_must_fit_the_prompt(florence: str) -> None:
    missing = post(florence, "/extract", prompt="<OPEN_VOCABULARY_DETECTION>")
    assert missing.status_code == 422 and "needs text_input" in missing.json()["error"]["message"]
    extra = post(florence, "/extract", prompt="<CAPTION>", text_input="a car")
    assert extra.status_code == 422 and "takes no text_input" in extra.json()["error"]["message"]


@pytest.mark.parametrize(
    ("detail", "task"),
    [("brief", "<CAPTION>"), ("detailed", "<DETAILED_CAPTION>"), ("more_detailed", "<MORE_DETAILED_CAPTION>")],
)
def test_caption_detail_levels(florence: str, detail: str, task: str) -> None:
    response = post(florence, "/caption", detail=detail)
    assert response.status_code == 200, response.text
    assert response.json()["task"] == task and isinstance(response.json()["caption"], str)


@pytest.mark.parametrize(
    ("path", "task", "field"),
    [
        ("/ocr", "<OCR>", "text"),
        ("/ocr-with-regions", "<OCR_WITH_REGION>", "regions"),
        ("/detect", "<OD>", "objects"),
        ("/dense-caption", "<DENSE_REGION_CAPTION>", "objects"),
    ],
)
def test_convenience_endpoints(florence: str, path: str, task: str, field: str) -> None:
    response = post(florence, path)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["task"] == task and field in answer
    assert (answer["image_width"], answer["image_height"]) == (320, 240)


def test_multipart_upload_works_like_json(florence: str) -> None:
    response = httpx.post(
        f"{florence}/caption", files={"file": ("f.jpg", jpeg_bytes(320, 240), "image/jpeg")}, data={"detail": "brief"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["task"] == "<CAPTION>"


def test_generation_bounds_are_validated(florence: str) -> None:
    assert post(florence, "/caption", num_beams=0).status_code == 422
    assert post(florence, "/caption", max_new_tokens=100_000).status_code == 422
    assert post(florence, "/caption", max_new_tokens=4096, num_beams=10).status_code == 200  # capped, not refused


def test_bad_image_is_an_envelope_and_the_service_keeps_serving(florence: str) -> None:
    response = httpx.post(f"{florence}/caption", json={"image": b64(b"not an image")})
    assert response.status_code in (400, 415, 422)
    assert response.json()["error"]["code"]
    assert post(florence, "/caption").status_code == 200


async def test_concurrent_requests_all_answer_in_their_own_shape(florence: str) -> None:
    async with httpx.AsyncClient(timeout=60) as client:
        paths = ["/caption", "/ocr", "/detect", "/dense-caption", "/ocr-with-regions", "/caption"]
        responses = await asyncio.gather(*(client.post(f"{florence}{p}", json={"image": IMAGE}) for p in paths))
    assert [r.status_code for r in responses] == [200] * len(paths)
    assert [r.json()["task"] for r in responses] == [
        "<CAPTION>",
        "<OCR>",
        "<OD>",
        "<DENSE_REGION_CAPTION>",
        "<OCR_WITH_REGION>",
        "<CAPTION>",
    ]


def test_health_and_status_report_the_model(florence: str) -> None:
    health = httpx.get(f"{florence}/health").json()
    assert health["max_new_tokens"] == 12
    status = httpx.get(f"{florence}/models/status").json()
    row = next(m for m in status["registered_models"] if m["name"] == "florence")
    assert row["state"] == "loaded" and row["family"] == "hf_florence2" and row["demo_weights"] is True
