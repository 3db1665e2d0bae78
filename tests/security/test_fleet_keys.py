"""The backend calling real enrichment services that require keys."""

from __future__ import annotations

from pathlib import Path

from tests.backend.conftest import backend_client
from tests.enrichment.conftest import demo_models, enrichment_server  # noqa: F401  (fixture reuse)
from tests.security.conftest import create_key
from tests.support.images import b64, jpeg_bytes

DOG = {"image": b64(jpeg_bytes(128, 128)), "detection_type": "dog"}


def test_the_backend_reaches_keyed_services_with_its_keys_and_names_a_wrong_one(
    demo_models: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    keys = tmp_path / "keys.json"
    light_key, heavy_key = create_key(keys, "backend-light", "read,infer"), create_key(keys, "backend-heavy", "infer")
    env = {"API_KEYS_FILE": str(keys), "HOST": "127.0.0.1"}
    with (
        enrichment_server("light", demo_models, **env) as light,
        enrichment_server("heavy", demo_models, **env) as heavy,
    ):
        keyed = {"ENRICHMENT_LIGHT_API_KEY": light_key, "ENRICHMENT_API_KEY": heavy_key}
        with backend_client(light.url, heavy.url, tmp_path / "a", **keyed) as client:
            result = client.post("/api/enrich", json=DOG).json()
            assert result["status"] == "FULL", result["errors"]
            assert result["models_used"], "models ran on the keyed services"
        with backend_client(light.url, heavy.url, tmp_path / "b", ENRICHMENT_LIGHT_API_KEY="hsk_wrong") as client:
            result = client.post("/api/enrich", json=DOG).json()
            codes = {failure["service"]: failure["code"] for failure in result["errors"].values()}
            assert codes.get("light") == "UNAUTHORIZED", result["errors"]
            assert result["status"] in ("PARTIAL", "FAILED")
