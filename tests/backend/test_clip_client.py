"""The backend's typed CLIP client against the real service on demo weights, with an
API key required: every call carries CLIP_API_KEY."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterator

import pytest

from ai.clip.service import ClipService
from ai.runtime.security.keys import hash_key
from backend.clip_client import ClipClient
from backend.enrichment_client.errors import EnrichmentCallError
from backend.metrics import BackendMetrics
from backend.settings import BackendSettings
from tests.support.images import b64, jpeg_bytes
from tests.support.model_servers import demo_models, model_server

KEY = "hsk_clip-client-test-7d41"
IMAGE = jpeg_bytes(64, 48, "green")


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    models = demo_models(tmp_path_factory.mktemp("clip-models"), "clip")
    with model_server(ClipService, models, API_KEYS=f"backend:{hash_key(KEY)}") as url:
        yield url


def settings(url: str, key: str = KEY) -> BackendSettings:
    return BackendSettings(CLIP_URL=url, CLIP_API_KEY=key, ENRICHMENT_RETRY_ATTEMPTS=1)


@pytest.fixture
async def client(clip: str) -> AsyncIterator[ClipClient]:
    clip_client = ClipClient(settings(clip), BackendMetrics())
    try:
        yield clip_client
    finally:
        await clip_client.close()


async def test_embeddings_are_unit_norm_and_share_one_space(client: ClipClient) -> None:
    image = await client.embed(IMAGE)
    texts = await client.embed_text(["a person", "a parked car"])
    assert image.embedding_dimension == len(image.embedding) > 0
    assert math.fsum(v * v for v in image.embedding) == pytest.approx(1.0, abs=1e-3)
    assert texts.embedding_dimension == image.embedding_dimension
    assert [len(e) for e in texts.embeddings] == [image.embedding_dimension] * 2
    same = await client.anomaly_score(b64(IMAGE), image.embedding)  # base64 text is sent as given
    assert same.anomaly_score == pytest.approx(0.0, abs=1e-3) and same.is_anomaly is False
    assert same.embedding_dimension == image.embedding_dimension


async def test_labels_and_texts_come_back_in_the_order_sent(client: ClipClient) -> None:
    labels = ["person", "car", "dog"]
    classified = await client.classify(IMAGE, labels, prompt_template="a security camera image of a {}.")
    assert list(classified.scores) == labels
    assert math.fsum(classified.scores.values()) == pytest.approx(1.0, abs=1e-4)
    assert classified.scores[classified.top_label] == classified.top_score == max(classified.scores.values())
    texts = ["a dog", "a cat", "an empty driveway"]
    batch = await client.batch_similarity(IMAGE, texts)
    assert [s.text for s in batch.similarities] == texts
    single = await client.similarity(IMAGE, "a dog")
    assert -1.0 <= single.similarity <= 1.0
    assert single.similarity == pytest.approx(batch.similarities[0].similarity, abs=1e-3)


async def test_refusals_keep_the_service_status_and_code(clip: str, client: ClipClient) -> None:
    with pytest.raises(EnrichmentCallError) as invalid:
        await client.classify(IMAGE, ["car", "car"])
    assert (invalid.value.service, invalid.value.status, invalid.value.code) == ("clip", 422, "INVALID_REQUEST")
    keyless = ClipClient(settings(clip, key=""), BackendMetrics())
    try:
        with pytest.raises(EnrichmentCallError) as unauthorized:
            await keyless.embed(IMAGE)
    finally:
        await keyless.close()
    assert (unauthorized.value.status, unauthorized.value.code) == (401, "UNAUTHORIZED")
