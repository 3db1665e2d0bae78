"""The backend's typed Florence-2 client against the real service on demo weights."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from ai.florence.service import FlorenceService
from backend.enrichment_client.errors import EnrichmentCallError
from backend.florence_client import FlorenceClient
from backend.metrics import BackendMetrics
from backend.settings import BackendSettings
from tests.support.images import b64, jpeg_bytes
from tests.support.model_servers import demo_models, model_server

IMAGE = jpeg_bytes(320, 240)


@pytest.fixture(scope="module")
def florence(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    models = demo_models(tmp_path_factory.mktemp("florence-models"), "florence")
    with model_server(FlorenceService, models, FLORENCE_MAX_NEW_TOKENS="12") as url:
        yield url


@pytest.fixture
async def client(florence: str) -> AsyncIterator[FlorenceClient]:
    florence_client = FlorenceClient(
        BackendSettings(FLORENCE_URL=florence, ENRICHMENT_RETRY_ATTEMPTS=1), BackendMetrics()
    )
    try:
        yield florence_client
    finally:
        await florence_client.close()


async def test_every_method_returns_the_parsed_answer_for_the_image_sent(client: FlorenceClient) -> None:
    caption = await client.caption(IMAGE)
    detailed = await client.caption(b64(IMAGE), detail="detailed")  # base64 text is sent as given
    grounded = await client.extract(IMAGE, "<OPEN_VOCABULARY_DETECTION>", text_input="a person")
    ocr = await client.ocr(IMAGE)
    regions = await client.ocr_with_regions(IMAGE)
    objects = await client.detect(IMAGE)
    dense = await client.dense_caption(IMAGE)
    answers = [caption, detailed, grounded, ocr, regions, objects, dense]
    assert [a.task for a in answers] == [
        "<CAPTION>",
        "<DETAILED_CAPTION>",
        "<OPEN_VOCABULARY_DETECTION>",
        "<OCR>",
        "<OCR_WITH_REGION>",
        "<OD>",
        "<DENSE_REGION_CAPTION>",
    ]
    assert all((a.image_width, a.image_height) == (320, 240) and a.inference_time_ms > 0 for a in answers)
    assert isinstance(caption.caption, str) and isinstance(ocr.text, str) and isinstance(regions.regions, list)
    boxes = [o.bbox for o in grounded.objects + objects.objects + dense.objects]
    assert all(0 <= x1 <= x2 <= 320 and 0 <= y1 <= y2 <= 240 for x1, y1, x2, y2 in boxes), "pixels of the image"


async def test_a_refusal_keeps_the_service_status_and_code(client: FlorenceClient) -> None:
    with pytest.raises(EnrichmentCallError) as refused:
        await client.extract(IMAGE, "<SEGMENT_EVERYTHING>")
    assert (refused.value.service, refused.value.status, refused.value.code) == ("florence", 422, "INVALID_REQUEST")
    assert "<CAPTION>" in refused.value.message, "the service's own message, listing the valid prompts"
