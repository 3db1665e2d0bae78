"""The Model Zoo lists the detector's, Florence-2's and CLIP's models with the live status
those services report (real services on demo weights, each asked with its own key); a
service that is down or refuses leaves only its own rows unreachable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ai.clip.service import ClipService
from ai.florence.service import FlorenceService
from ai.runtime.security.keys import hash_key
from tests.backend.conftest import backend_client
from tests.detector.conftest import detector_models, detector_server  # noqa: F401  (session fixture)
from tests.support.model_servers import demo_models, model_server
from tests.support.server import free_port

CLIP_KEY = "hsk_zoo-clip-test-52ab"
SERVICE_ROWS = {"yolo26": "detector", "yolo26_v2": "detector", "florence": "florence", "clip": "clip"}


@pytest.fixture(scope="module")
def services(detector_models: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:  # noqa: F811
    models = demo_models(tmp_path_factory.mktemp("zoo-models"), "florence", "clip")
    with (
        detector_server(detector_models, tmp_path_factory.mktemp("detector-data")) as detector,  # v2 not configured
        model_server(FlorenceService, models) as florence,
        model_server(ClipService, models, API_KEYS=f"backend:{hash_key(CLIP_KEY)}") as clip,
    ):
        yield {"detector": detector, "florence": florence, "clip": clip}


def budget_mb(url: str, key: str = "") -> float:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.get(f"{url}/models/status", headers=headers).json()["vram_budget_mb"]


def test_their_models_carry_live_status_and_an_unset_optional_version_is_not_hosted(
    services: dict[str, str], tmp_path: Path
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # both enrichment roles down
    urls = {"DETECTOR_URL": services["detector"], "FLORENCE_URL": services["florence"], "CLIP_URL": services["clip"]}
    with backend_client(dead, dead, tmp_path, **urls, CLIP_API_KEY=CLIP_KEY) as backend:
        body = backend.get("/api/system/models").json()
        compact = backend.get("/api/system/model-zoo/status").json()
        one = backend.get("/api/system/models/yolo26_v2")
    models = {m["name"]: m for m in body["models"]}
    assert {name: models[name]["service"] for name in SERVICE_ROWS} == SERVICE_ROWS
    for name in ("yolo26", "florence", "clip"):
        assert (models[name]["status"], models[name]["available"], models[name]["demo_weights"]) == (
            "loaded",
            True,
            True,
        )
    v2 = models["yolo26_v2"]
    assert (v2["status"], v2["enabled"]) == ("not_hosted", False), "off until configured, not a fault"
    assert "MODEL_V2_PATH" in v2["error"] and one.status_code == 200 and one.json()["status"] == "not_hosted"
    categories = {i["name"]: i["category"] for i in compact["models"]}
    assert [categories[n] for n in ("yolo26", "clip", "florence")] == ["Detection", "Embedding", "Other"]
    enrichment = [m for m in models.values() if m["service"] in {"light", "heavy"}]
    assert enrichment and all(m["status"] == "unreachable" and dead in m["error"] for m in enrichment)
    live = budget_mb(services["detector"]) + budget_mb(services["florence"]) + budget_mb(services["clip"], CLIP_KEY)
    assert body["vram_budget_mb"] == pytest.approx(live, abs=0.2), "summed over the services that answered"
    assert body["max_concurrent_models"] == 5


def test_a_service_down_or_refusing_leaves_only_its_rows_unreachable(services: dict[str, str], tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    urls = {"DETECTOR_URL": services["detector"], "FLORENCE_URL": dead, "CLIP_URL": services["clip"]}  # no CLIP key
    with backend_client(dead, dead, tmp_path, **urls) as backend:
        response = backend.get("/api/system/models")
        compact = backend.get("/api/system/model-zoo/status")
    assert response.status_code == 200 and compact.status_code == 200
    models = {m["name"]: m for m in response.json()["models"]}
    assert models["florence"]["status"] == "unreachable" and dead in models["florence"]["error"]
    clip = models["clip"]
    assert clip["status"] == "unreachable" and "HTTP 401 UNAUTHORIZED" in clip["error"]
    assert services["clip"] in clip["error"]
    assert (models["yolo26"]["status"], models["yolo26_v2"]["status"]) == ("loaded", "not_hosted")
    assert response.json()["vram_budget_mb"] == pytest.approx(budget_mb(services["detector"]), abs=0.2)
