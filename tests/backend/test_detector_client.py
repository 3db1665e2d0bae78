"""The backend's typed detector client against the real detector on demo weights."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.detector_client import DetectorClient
from backend.enrichment_client.errors import EnrichmentCallError
from backend.metrics import BackendMetrics
from backend.settings import BackendSettings
from tests.detector.conftest import detector_models, detector_server  # noqa: F401  (session fixture)
from tests.support.images import jpeg_bytes, real_photo


@pytest.fixture(scope="module")
def detector(detector_models: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:  # noqa: F811
    with detector_server(detector_models, tmp_path_factory.mktemp("data"), DETECTOR_MAX_BATCH_IMAGES="2") as url:
        yield url


def client(url: str) -> DetectorClient:
    settings = BackendSettings(DETECTOR_URL=url, ENRICHMENT_RETRY_ATTEMPTS=1)
    return DetectorClient(settings, BackendMetrics())


async def test_detect_returns_the_typed_answer(detector: str) -> None:
    detector_client = client(detector)
    try:
        answer = await detector_client.detect(real_photo("bus.jpg").read_bytes(), camera_id="front", conf_threshold=0.3)
        assert (answer.image_width, answer.image_height, answer.version) == (810, 1080, "v1")
        assert answer.detections and all(d.confidence >= 0.3 for d in answer.detections)
        batch = await detector_client.detect_batch(
            [real_photo("bus.jpg").read_bytes(), jpeg_bytes()], conf_threshold=0.3
        )
        assert batch.count == 2
        assert batch.results[0].detections == answer.detections
    finally:
        await detector_client.close()


async def test_a_refusal_keeps_the_service_code(detector: str) -> None:
    detector_client = client(detector)
    try:
        with pytest.raises(EnrichmentCallError) as refused:
            await detector_client.detect_batch([jpeg_bytes()] * 3)
        assert (refused.value.status, refused.value.code) == (413, "PAYLOAD_TOO_LARGE")
    finally:
        await detector_client.close()
