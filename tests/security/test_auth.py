"""API keys over real HTTP: who gets in, with which scope, and what they may see."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from ai.runtime.errors import StartupError
from ai.runtime.security.__main__ import main as keys_cli
from ai.runtime.security.keys import hash_key
from tests.security.conftest import Keys, bearer, create_key, toy_server
from tests.support.images import b64, png_bytes

IMAGE = {"image": b64(png_bytes(32, 32))}


def error_of(response: httpx.Response) -> str:
    return response.json()["error"]["code"]


def test_the_cli_stores_only_a_hash_and_prints_the_key_once(tmp_path: Path) -> None:
    file = tmp_path / "keys.json"
    key = create_key(file, "backend", "read,infer")
    stored = json.loads(file.read_text())["keys"]
    assert key.startswith("hsk_") and len(key) > 40
    assert key not in file.read_text(), "the key itself is never written"
    assert stored[0]["key_hash"] == hash_key(key)
    assert stored[0]["scopes"] == ["infer", "read"]
    assert file.stat().st_mode & 0o077 == 0, "the keys file is readable by its owner only"


def test_requests_without_a_valid_key_are_refused_with_401(keys: Keys) -> None:
    with toy_server(API_KEYS_FILE=str(keys.file)) as http:
        missing = http.post("/infer/m", json=IMAGE)
        assert missing.status_code == 401 and error_of(missing) == "UNAUTHORIZED"
        assert missing.headers["WWW-Authenticate"].startswith("Bearer")
        wrong = http.post("/infer/m", json=IMAGE, headers=bearer("hsk_not-a-real-key"))
        assert wrong.status_code == 401 and "not valid" in wrong.json()["error"]["message"]
        basic = http.post("/infer/m", json=IMAGE, headers={"Authorization": f"Basic {keys.inferer}"})
        assert basic.status_code == 401, "only the Bearer scheme carries a key"
        assert http.post("/infer/m", json=IMAGE, headers=bearer(keys.inferer)).status_code == 200


def test_probes_and_docs_need_no_key_but_metrics_and_status_do(keys: Keys) -> None:
    with toy_server(API_KEYS_FILE=str(keys.file)) as http:
        for path in ("/health", "/ready", "/openapi.json", "/docs"):
            assert http.get(path).status_code == 200, path
        for path in ("/metrics", "/models/status", "/no/such/path"):
            assert http.get(path).status_code == 401, path
        assert http.get("/metrics", headers=bearer(keys.reader)).status_code == 200
        assert http.get("/health").json()["security"]["auth"] == "required"


def test_a_revoked_key_stops_working_without_a_restart(keys: Keys) -> None:
    with toy_server(API_KEYS_FILE=str(keys.file)) as http:
        assert http.post("/infer/m", json=IMAGE, headers=bearer(keys.inferer)).status_code == 200
        time.sleep(0.05)  # a new mtime, even on coarse file systems
        assert keys_cli(["--file", str(keys.file), "revoke", "backend"]) == 0
        deadline = time.monotonic() + 5
        response = http.post("/infer/m", json=IMAGE, headers=bearer(keys.inferer))
        while response.status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.2)
            response = http.post("/infer/m", json=IMAGE, headers=bearer(keys.inferer))
        assert response.status_code == 401
        assert "'backend' was revoked" in response.json()["error"]["message"]
        assert http.get("/metrics", headers=bearer(keys.reader)).status_code == 200, "other keys unaffected"


def test_a_key_without_the_scope_gets_403_and_state_changes_need_admin(keys: Keys) -> None:
    with toy_server(API_KEYS_FILE=str(keys.file)) as http:
        refused = http.post("/infer/m", json=IMAGE, headers=bearer(keys.reader))
        assert refused.status_code == 403 and error_of(refused) == "FORBIDDEN"
        assert refused.json()["error"]["details"]["required_scope"] == "infer"
        for path in ("/models/m/load", "/models/m/unload"):
            assert http.post(path, headers=bearer(keys.inferer)).status_code == 403, path
        preload = http.post("/models/preload", json={"models": ["m"]}, headers=bearer(keys.inferer))
        assert preload.status_code == 403
        assert http.post("/models/m/load", headers=bearer(keys.admin)).json()["loaded"] is True
        assert http.post("/infer/m", json=IMAGE, headers=bearer(keys.admin)).status_code == 200, "admin implies infer"


def test_loopback_bypass_is_off_by_default_and_lets_local_callers_in_when_on(keys: Keys) -> None:
    with toy_server(API_KEYS_FILE=str(keys.file)) as http:
        assert http.post("/infer/m", json=IMAGE).status_code == 401
    with toy_server(API_KEYS_FILE=str(keys.file), AUTH_ALLOW_LOOPBACK="true") as http:
        assert http.post("/infer/m", json=IMAGE).status_code == 200
        assert http.post("/models/m/unload").status_code == 200
        assert any("AUTH_ALLOW_LOOPBACK" in w for w in http.get("/health").json()["security"]["warnings"])


def test_inline_key_hashes_work_like_the_file(tmp_path: Path) -> None:
    key = "hsk_inline-test-key-0123456789"
    with toy_server(API_KEYS=f"ci:{hash_key(key)}:infer") as http:
        assert http.post("/infer/m", json=IMAGE, headers=bearer(key)).status_code == 200
        assert http.get("/models/status", headers=bearer(key)).status_code == 403, "infer alone cannot read"


def test_with_no_keys_the_service_is_open_and_says_so_when_not_on_loopback() -> None:
    with toy_server(HOST="0.0.0.0") as http:
        assert http.post("/infer/m", json=IMAGE).status_code == 200
        security = http.get("/health").json()["security"]
        assert security["auth"] == "off" and "no API keys are required" in security["warnings"][0]
    with toy_server(HOST="127.0.0.1") as http:
        assert http.get("/health").json()["security"]["warnings"] == []


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"AUTH_ENABLED": "true"}, "API_KEYS_FILE"),
        ({"IP_ALLOWLIST": "10.0.0.0/33"}, "IP_ALLOWLIST"),
        ({"TRUSTED_PROXIES": "proxy.local"}, "TRUSTED_PROXIES"),
        ({"API_KEYS": "ci:abc"}, "SHA-256"),
        ({"API_KEYS": f"ci:{hash_key('x')}:root"}, "unknown scope"),
        ({"API_KEYS_FILE": "/nonexistent/keys.json"}, "does not exist"),
    ],
)
def test_a_bad_security_configuration_stops_start_up_naming_the_variable(env: dict[str, str], names: str) -> None:
    with pytest.raises(StartupError, match=names), toy_server(**env):
        pass


def test_weight_paths_and_library_errors_are_for_admin_keys_only(keys: Keys, tmp_path: Path) -> None:
    from tests.support.torch_models import blob_spec

    secret = tmp_path / "weights" / "private" / "model.pt"

    def failing(_n: int) -> BaseException:
        return OSError(f"cannot read {secret}")

    spec = blob_spec("m", 1, failure=failing)
    spec.describe = lambda: {"path": str(secret)}
    with toy_server([spec], API_KEYS_FILE=str(keys.file), MODEL_LOAD_RETRY_SECONDS="0") as http:
        failed = http.post("/infer/m", json=IMAGE, headers=bearer(keys.inferer))
        assert failed.status_code == 503 and error_of(failed) == "MODEL_LOAD_FAILED"
        assert str(secret) not in failed.text and "<path>" in failed.text
        status = http.get("/models/status", headers=bearer(keys.reader)).json()["registered_models"][0]
        assert status["path"] is None and str(secret) not in (status["error"] or "")
        assert str(secret) not in http.get("/health").text
        admin = http.get("/models/status", headers=bearer(keys.admin)).json()["registered_models"][0]
        assert admin["path"] == str(secret) and str(secret) in admin["error"]


def test_a_newline_at_the_end_of_the_path_cannot_dodge_the_admin_scope(keys: Keys) -> None:
    """Starlette's `$` matches before a trailing newline; the gate must not be fooled."""
    with toy_server(API_KEYS_FILE=str(keys.file)) as http:
        for path in ("/models/m/load%0A", "/models/m/unload%0a", "/models/preload%0A", "/models/m/load%00"):
            response = http.post(path, json={"models": ["m"]}, headers=bearer(keys.inferer))
            assert response.status_code in (400, 403), (path, response.status_code)
        status = http.get("/models/status", headers=bearer(keys.reader)).json()["registered_models"][0]
        assert status["loaded"] is False


def test_preload_failures_on_the_public_ready_probe_hide_weight_paths(tmp_path: Path) -> None:
    from tests.support.torch_models import blob_spec

    secret = tmp_path / "private" / "cache" / "m.pt"
    spec = blob_spec("m", 1, failure=lambda _n: FileNotFoundError(f"no such file: '{secret}'"))
    with toy_server([spec], HOST="0.0.0.0", PRELOAD_MODELS="m", API_KEYS=f"ci:{hash_key('k')}") as http:
        deadline = time.monotonic() + 10
        while not http.get("/ready").json()["ready"] and time.monotonic() < deadline:
            time.sleep(0.1)
        ready = http.get("/ready").json()
        assert "m" in ready["preload"]["failed"] and str(secret) not in json.dumps(ready)
