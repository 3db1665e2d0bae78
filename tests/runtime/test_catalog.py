"""The catalog: common fields for every service, a service's own fields checked by that
service, batching per device with variables on top."""

from __future__ import annotations

from pathlib import Path

import pytest

from ai.contracts.enrichment_catalog import EnrichmentEntry, enrichment_entries, role_of
from ai.contracts.enrichment_plan import ENRICHMENTS
from ai.enrichment.enrich import ENRICHERS
from ai.runtime.catalog import CatalogError, StrictEntry, load_catalog, parse_catalog
from ai.runtime.errors import StartupError
from ai.runtime.model_env import model_env

DETECTOR_ROW = """
[models.yolo26]
display_name = "YOLO26m"
family = "ultralytics_detect"
source = "ultralytics:yolo26m.pt"
vram_mb = 2000
priority = "CRITICAL"
license = "AGPL-3.0"
batching = { max_batch_size = 16, max_queue_delay_ms = 5, cpu = { max_batch_size = 1 } }
options = { input_size = 640 }
"""


def test_a_row_of_another_service_needs_only_the_common_fields() -> None:
    entry = parse_catalog(DETECTOR_ROW, "detector")["yolo26"].typed(StrictEntry)
    assert (entry.service, entry.env_key, entry.path_variable) == ("detector", "YOLO26", "YOLO26_MODEL_PATH")
    assert entry.batching.for_device(is_cuda=True).max_batch_size == 16
    assert entry.batching.for_device(is_cuda=False).max_batch_size == 1
    assert entry.batching.for_device(is_cuda=False).max_queue_delay_ms == 5, "the CPU override keeps the rest"


def test_a_row_without_batching_is_refused_with_the_list_of_common_fields() -> None:
    text = DETECTOR_ROW.replace("batching = {", "# batching = {")
    with pytest.raises(CatalogError, match=r"\[models.yolo26\] is missing batching; every catalog row needs family"):
        parse_catalog(text, "detector", "ai/detector/catalog.toml")


def test_a_row_claiming_another_service_is_refused() -> None:
    with pytest.raises(CatalogError, match="says service = 'clip' but the file belongs to 'detector'"):
        parse_catalog(DETECTOR_ROW + 'service = "clip"\n', "detector")


def test_an_enrichment_row_without_its_enrichment_fields_is_refused_by_the_enrichment_view() -> None:
    row = parse_catalog(DETECTOR_ROW, "enrichment")["yolo26"]
    with pytest.raises(CatalogError, match=r"'yolo26' \(enrichment\): role: Field required; option: Field required"):
        row.typed(EnrichmentEntry)


def test_every_shipped_row_is_valid_for_its_service() -> None:
    from ai.detector.service import DetectorService
    from ai.detector.settings import DetectorSettings

    catalog = load_catalog()
    assert {e.service for e in catalog.values()} == {"enrichment", "detector", "florence", "clip", "llm"}
    detector_rows = DetectorService(DetectorSettings()).catalog()  # typed: each row's version checked
    single = {name for name, e in catalog.items() if e.service in {"florence", "clip", "llm"}}
    assert single == {"florence", "clip", "text_embedder", "nemotron"}
    assert set(enrichment_entries()) | set(detector_rows) | single == set(catalog)


def test_two_path_variables_naming_different_weights_stop_the_service() -> None:
    entry = load_catalog()["yolo26"]
    assert model_env(entry, {"MODEL_V1_PATH": "/w/a.pt"}).model_path == Path("/w/a.pt")
    assert model_env(entry, {"MODEL_V1_PATH": "/w/a.pt", "YOLO26_MODEL_PATH": "/w/a.pt"}).model_path == Path("/w/a.pt")
    with pytest.raises(StartupError, match=r"MODEL_V1_PATH=/w/b\.pt"):
        model_env(entry, {"MODEL_V1_PATH": "/w/b.pt", "YOLO26_MODEL_PATH": "/w/a.pt"})


def test_batching_variables_override_the_catalog_on_either_device() -> None:
    entry = enrichment_entries()["person_reid"]
    env = model_env(entry, {"REID_MAX_BATCH_SIZE": "3", "REID_MAX_QUEUE_DELAY_MS": "7.5"})
    for is_cuda in (True, False):
        limits = env.batch_limits(entry, is_cuda)
        assert (limits.max_batch_size, limits.max_queue_delay_ms) == (3, 7.5)


def test_a_bad_per_model_value_names_its_variable() -> None:
    entry = enrichment_entries()["person_reid"]
    with pytest.raises(StartupError, match="invalid setting for person_reid: REID_MAX_BATCH_SIZE: Input should be"):
        model_env(entry, {"REID_MAX_BATCH_SIZE": "0"})
    with pytest.raises(StartupError, match="ENRICHMENT_REID_SERVICE"):
        role_of(entry, {"ENRICHMENT_REID_SERVICE": "medium"})
    assert role_of(entry, {"ENRICHMENT_REID_SERVICE": "HEAVY"}) == "heavy"


def test_two_services_cannot_claim_one_model_name(tmp_path: Path) -> None:
    for service in ("detector", "clip"):
        (tmp_path / service).mkdir()
        (tmp_path / service / "catalog.toml").write_text(DETECTOR_ROW, encoding="utf-8")
    with pytest.raises(CatalogError, match="model 'yolo26' is already in the clip catalog"):
        load_catalog.__wrapped__(tmp_path)


def test_enrich_implements_exactly_the_shared_table_of_enrichments() -> None:
    """The backend plans with ENRICHMENTS; the service must run each of them, with each model."""
    assert set(ENRICHERS) == set(ENRICHMENTS)
    for name, models in ENRICHMENTS.items():
        assert set(models) <= set(ENRICHERS[name].uses), name
