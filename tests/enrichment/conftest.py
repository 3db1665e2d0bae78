"""Demo weights for the enrichment models, written once per test session by the
project's own factory, and helpers to run an enrichment role over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ai.enrichment.service import EnrichmentService
from ai.enrichment.settings import EnrichmentSettings
from ai.models.demo import write_demo_weights
from ai.runtime.catalog import load_catalog
from ai.runtime.model_service import create_service_app
from tests.support.server import LiveServer

LIGHT_MODELS = ("threat_detector", "pose_estimator", "person_reid", "pet_classifier", "depth_estimator")
HEAVY_MODELS = (
    "vehicle_classifier",
    "age_classifier",
    "gender_classifier",
    "face_detector",
    "violence_detector",
    "weather_classifier",
    "vitpose",
    "clothing_classifier",
    "clothing_segmenter",
    "action_recognizer",
    "vehicle_damage",
    "license_plate_detector",
    "open_vocab_detector",
)  # plate_ocr runs on the real weights that ship in its package


@pytest.fixture(scope="session")
def demo_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("models")
    catalog = load_catalog()
    for name in LIGHT_MODELS + HEAVY_MODELS:
        write_demo_weights(catalog[name], root)
    return root


def enrichment_server(role: str, models: Path, **env: Any) -> LiveServer:
    settings = EnrichmentSettings(ENRICHMENT_ROLE=role, AI_MODELS_PATH=str(models), **env)
    return LiveServer(create_service_app(EnrichmentService(settings)))


@pytest.fixture(scope="module")
def light_url(demo_models: Path) -> Iterator[str]:
    with enrichment_server("light", demo_models) as server:
        yield server.url


@pytest.fixture(scope="module")
def heavy_url(demo_models: Path) -> Iterator[str]:
    with enrichment_server("heavy", demo_models) as server:
        yield server.url
