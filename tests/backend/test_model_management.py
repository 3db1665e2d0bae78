"""The model management API over real HTTP: the backend on loopback against a real CLIP
service on demo weights, sharing one model store. Listing with download status and size
on disk, by type; downloads as jobs that fail offline with the reason; deletion refused
while loaded and done after an unload; load and unload passed through; admin scope."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ai.clip.service import ClipService
from ai.runtime.catalog import load_catalog
from ai.runtime.security.keys import hash_key
from ai.runtime.store_layout import zoo_folder
from backend.app import create_backend_app
from backend.settings import BackendSettings
from tests.backend.conftest import OTHER_SERVICES
from tests.support.fake_hub import fake_hub
from tests.support.model_servers import demo_models, model_server
from tests.support.server import LiveServer

ADMIN_KEY = "hsk_admin-test-key-0123456789"
READ_KEY = "hsk_read-test-key-0123456789"
KEYS = f"ops:{hash_key(ADMIN_KEY)}:admin,viewer:{hash_key(READ_KEY)}:read"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_models(tmp_path_factory.mktemp("store"), "clip", "pose_estimator")


@pytest.fixture(scope="module")
def fleet(store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    hf_home = tmp_path_factory.mktemp("hf-home")
    with model_server(ClipService, store) as clip:
        settings = BackendSettings(
            **{**OTHER_SERVICES, "CLIP_URL": clip},
            ENRICHMENT_LIGHT_URL="http://127.0.0.1:9",
            ENRICHMENT_URL="http://127.0.0.1:9",
            DATA_DIR=str(tmp_path_factory.mktemp("backend-data")),
            AI_MODELS_PATH=str(store),
            HF_HOME=str(hf_home),
            API_KEYS=KEYS,
            AUTH_ENABLED="true",
        )
        with LiveServer(create_backend_app(settings)) as backend:
            yield backend.url, clip


def call(method: str, url: str, key: str = ADMIN_KEY, **kwargs: object) -> httpx.Response:
    return httpx.request(method, url, headers={"Authorization": f"Bearer {key}"}, timeout=60, **kwargs)


def models(backend: str) -> dict[str, dict]:
    return {m["id"]: m for m in call("GET", f"{backend}/api/models").json()["models"]}


def wait_job(backend: str, job_id: str, timeout: float = 90.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = call("GET", f"{backend}/api/jobs/{job_id}").json()
        if job["state"] in ("succeeded", "failed"):
            return job
        time.sleep(0.2)
    raise TimeoutError(f"job {job_id} still running")


def test_every_catalog_model_is_listed_with_its_service_weights_and_licence(fleet: tuple[str, str]) -> None:
    backend, _ = fleet
    listing = call("GET", f"{backend}/api/models").json()
    rows = {m["id"]: m for m in listing["models"]}
    assert set(rows) == set(load_catalog())
    clip = rows["clip"]
    assert (clip["service"], clip["type"], clip["license"]) == ("clip", "embedding", "MIT")
    assert clip["download_status"] == "demo" and clip["demo_weights"] and clip["location"] == "model-zoo"
    assert clip["size_on_disk_bytes"] > 10_000 and clip["deletable"] and clip["downloadable"]
    assert clip["state"] == "loaded"  # the CLIP service's own report
    assert rows["text_embedder"]["download_status"] == "package" and not rows["text_embedder"]["deletable"]
    assert rows["pose_estimator"]["service"] == "light" and rows["pose_estimator"]["state"] == "unreachable"
    missing = rows["florence"]
    assert missing["download_status"] == "missing" and missing["size_on_disk_bytes"] == 0
    assert rows["nemotron"]["service"] == "llm"
    services = {s["name"]: s for s in listing["services"]}
    assert services["clip"]["reachable"] and services["clip"]["vram_budget_mb"] > 0
    assert "clip" in services["clip"]["loaded_models"]
    assert not services["light"]["reachable"] and services["light"]["reason"]
    assert listing["models_path"]  # an admin key sees where the store is


def test_a_read_key_sees_the_list_without_paths(fleet: tuple[str, str]) -> None:
    backend, _ = fleet
    listing = call("GET", f"{backend}/api/models", key=READ_KEY).json()
    assert listing["models_path"] is None
    assert all(m["path"] is None for m in listing["models"])


def test_models_of_one_type_and_an_unknown_type_names_the_known_ones(fleet: tuple[str, str]) -> None:
    backend, _ = fleet
    embedding = call("GET", f"{backend}/api/models/embedding").json()["models"]
    assert {m["id"] for m in embedding} >= {"clip", "text_embedder"}
    assert all(m["type"] == "embedding" for m in embedding)
    refused = call("GET", f"{backend}/api/models/telepathy")
    assert refused.status_code == 404
    assert "pose" in refused.json()["error"]["details"]["types"]


def test_a_download_offline_fails_as_a_job_whose_error_names_the_cause(fleet: tuple[str, str]) -> None:
    backend, _ = fleet
    started = call("POST", f"{backend}/api/models/download", json={"model_id": "florence"})
    assert started.status_code == 202, started.text
    job = started.json()
    assert started.headers["location"] == f"/api/jobs/{job['id']}"
    assert job["model_id"] == "florence" and job["state"] in ("queued", "running")
    done = wait_job(backend, job["id"])
    assert done["state"] == "failed"
    assert "cannot reach the Hugging Face hub" in done["error"]
    assert "offline" in done["error"]  # the hint: pull elsewhere and copy the store
    assert done["finished_at"] and done["id"] in [j["id"] for j in call("GET", f"{backend}/api/jobs").json()["jobs"]]
    assert models(backend)["florence"]["download_status"] == "missing"  # nothing half-written was left


def test_an_asset_download_offline_fails_and_keeps_the_demo_weights(fleet: tuple[str, str], store: Path) -> None:
    backend, _ = fleet
    before = sorted(p.name for p in zoo_folder(store, "pose_estimator").iterdir())
    job = call("POST", f"{backend}/api/models/download", json={"model_id": "pose_estimator"}).json()
    done = wait_job(backend, job["id"])
    assert done["state"] == "failed" and "pose_estimator" in done["error"]
    assert sorted(p.name for p in zoo_folder(store, "pose_estimator").iterdir()) == before


@pytest.mark.parametrize(
    ("body", "status"),
    [({"model_id": "text_embedder"}, 400), ({"model_id": "nemotron"}, 400), ({"model_id": "nope"}, 404), ({}, 422)],
)
def test_downloads_that_cannot_be_are_refused_up_front(fleet: tuple[str, str], body: dict, status: int) -> None:
    backend, _ = fleet
    response = call("POST", f"{backend}/api/models/download", json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["message"]


def test_writes_need_an_admin_key(fleet: tuple[str, str]) -> None:
    backend, _ = fleet
    for method, path, body in [
        ("POST", "/api/models/download", {"model_id": "florence"}),
        ("DELETE", "/api/models/clip", None),
        ("POST", "/api/models/clip/unload", None),
    ]:
        response = call(method, f"{backend}{path}", key=READ_KEY, json=body)
        assert response.status_code == 403, (path, response.text)
    assert call("GET", f"{backend}/api/jobs/unknown").status_code == 404


def test_delete_is_refused_while_loaded_and_frees_the_store_after_an_unload(
    fleet: tuple[str, str], store: Path
) -> None:
    backend, clip = fleet
    refused = call("DELETE", f"{backend}/api/models/clip")
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "MODEL_IN_USE"
    assert "unload it first" in refused.json()["error"]["message"]
    assert zoo_folder(store, "clip").is_dir()

    unloaded = call("POST", f"{backend}/api/models/clip/unload")
    assert unloaded.status_code == 200, unloaded.text
    assert unloaded.json()["state"] == "unloaded"
    service_view = httpx.get(f"{clip}/models/status").json()["registered_models"]
    assert not next(m for m in service_view if m["name"] == "clip")["loaded"]

    size = models(backend)["clip"]["size_on_disk_bytes"]
    deleted = call("DELETE", f"{backend}/api/models/clip")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["freed_bytes"] == size
    assert not zoo_folder(store, "clip").exists()
    row = models(backend)["clip"]
    assert row["download_status"] == "missing" and not row["deletable"]
    assert call("DELETE", f"{backend}/api/models/clip").status_code == 404  # nothing left to delete

    reload = call("POST", f"{backend}/api/models/clip/load")
    assert reload.status_code >= 400 and reload.json()["error"]["code"]  # the service's own refusal, relayed


def test_load_and_unload_of_an_unreachable_service_say_which(fleet: tuple[str, str]) -> None:
    backend, _ = fleet
    response = call("POST", f"{backend}/api/models/pose_estimator/load")
    assert response.status_code == 503
    assert "light" in response.json()["error"]["message"]
    assert call("POST", f"{backend}/api/models/nemotron/unload").status_code == 400  # llama-server holds it


def test_a_service_refusing_the_backends_own_key_is_a_502_naming_the_variable(store: Path, tmp_path: Path) -> None:
    """The operator's key was fine; the backend's key for the CLIP service was not."""
    with model_server(ClipService, store, API_KEYS=KEYS, AUTH_ENABLED="true") as clip:
        settings = BackendSettings(
            **{**OTHER_SERVICES, "CLIP_URL": clip},
            ENRICHMENT_LIGHT_URL="http://127.0.0.1:9",
            ENRICHMENT_URL="http://127.0.0.1:9",
            DATA_DIR=str(tmp_path),
            AI_MODELS_PATH=str(store),
            CLIP_API_KEY=READ_KEY,  # a key the service knows, without its admin scope
        )
        with LiveServer(create_backend_app(settings)) as backend:
            response = httpx.post(f"{backend.url}/api/models/clip/unload", timeout=60)
    assert response.status_code == 502, response.text
    error = response.json()["error"]
    assert "CLIP_API_KEY" in error["message"] and error["details"]["service_status"] == 403


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str], int]]:
    """A loopback hub serving Florence-2 demo files as if they were the real repository."""
    root = demo_models(tmp_path_factory.mktemp("hub-src"), "florence")
    folder = zoo_folder(root, "florence")
    (folder / "DEMO_WEIGHTS.json").unlink()
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    app, seen = fake_hub(load_catalog()["florence"].source_ref, folder)
    with LiveServer(app) as server:
        yield server.url, seen, size


def test_a_download_from_a_reachable_hub_reports_progress_and_lands_in_the_hub_cache(
    fleet: tuple[str, str], hub: tuple[str, list[str], int], store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend, _ = fleet
    url, seen, size = hub
    monkeypatch.setenv("HF_ENDPOINT", url)  # the hub client's own setting: nothing in it is mocked
    job = call("POST", f"{backend}/api/models/download", json={"model_id": "florence"}).json()
    done = wait_job(backend, job["id"])
    assert done["state"] == "succeeded", done
    assert done["bytes_total"] == size and done["bytes_done"] == size and done["progress"] == 1.0
    assert "models--florence-community--Florence-2-large" in done["path"]
    assert any(path.endswith("/model.safetensors") for path in seen)
    row = models(backend)["florence"]
    assert (row["download_status"], row["location"], row["demo_weights"]) == ("downloaded", "hf-cache", False)
    assert size <= row["size_on_disk_bytes"] < size + 4096 and row["deletable"]  # blobs, plus refs and links
    assert not zoo_folder(store, "florence").exists()  # hub models live in the hub cache, not the zoo

    deleted = call("DELETE", f"{backend}/api/models/florence", params={"force": "true"})  # its service is absent
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["freed_bytes"] == row["size_on_disk_bytes"]
    assert models(backend)["florence"]["download_status"] == "missing"


# The backend's image has no model stack: a hub pull must not need it.
WITHOUT_MODEL_STACK = """
import runpy, sys
class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"torch", "torchvision", "transformers", "ultralytics", "onnxruntime", "cv2"}:
            raise ImportError("no model stack here: " + name)
sys.meta_path.insert(0, Refuse())
sys.argv = ["ai.models", *sys.argv[1:]]
runpy.run_module("ai.models", run_name="__main__")
"""


def test_the_pull_command_draws_a_progress_bar_and_needs_no_model_stack(
    hub: tuple[str, list[str], int], tmp_path: Path
) -> None:
    url, _, size = hub
    env = {**os.environ, "HF_ENDPOINT": url, "HF_HOME": str(tmp_path / "hf")}
    command = [sys.executable, "-c", WITHOUT_MODEL_STACK, "pull", "florence", "--dest", str(tmp_path / "models")]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert f"{size / 1e6:.1f} MB / {size / 1e6:.1f} MB" in result.stderr and "100%" in result.stderr
    assert "florence: weights in" in result.stdout
