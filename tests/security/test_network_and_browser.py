"""IP allowlist, trusted proxies, cross-site refusal, CORS and rate limits over real HTTP."""

from __future__ import annotations

from ai.runtime.security.network import ClientAddressing, parse_networks
from tests.security.conftest import Keys, bearer, toy_server
from tests.support.images import b64, png_bytes

IMAGE = {"image": b64(png_bytes(32, 32))}


def test_the_allowlist_refuses_other_addresses_and_trusts_forwarded_for_only_from_proxies() -> None:
    with toy_server(IP_ALLOWLIST="10.0.0.0/8") as http:
        refused = http.get("/health")
        assert refused.status_code == 403 and "127.0.0.1 is not in IP_ALLOWLIST" in refused.json()["error"]["message"]
        spoofed = http.get("/health", headers={"X-Forwarded-For": "10.1.2.3"})
        assert spoofed.status_code == 403, "X-Forwarded-For from an untrusted peer is ignored"
    with toy_server(IP_ALLOWLIST="10.0.0.0/8", TRUSTED_PROXIES="127.0.0.1") as http:
        assert http.get("/health", headers={"X-Forwarded-For": "10.1.2.3"}).status_code == 200
        outside = http.get("/health", headers={"X-Forwarded-For": "10.1.2.3, 192.168.9.9"})
        assert outside.status_code == 403, "the rightmost untrusted hop is the client"
        assert http.get("/health").status_code == 403, "the proxy itself is not in the allowlist"
    with toy_server(IP_ALLOWLIST="192.168.1.0/24,127.0.0.1") as http:
        assert http.post("/infer/m", json=IMAGE).status_code == 200


def test_forwarded_for_is_read_from_the_right_skipping_trusted_hops() -> None:
    addressing = ClientAddressing(parse_networks(["10.0.0.0/8"], "TRUSTED_PROXIES"))
    assert str(addressing.client("10.0.0.2", "6.6.6.6, 1.2.3.4, 10.0.0.7")) == "1.2.3.4"
    assert str(addressing.client("1.2.3.4", "10.0.0.1")) == "1.2.3.4", "untrusted peer: header ignored"
    assert str(addressing.client("10.0.0.2", "garbage, 5.6.7.8")) == "5.6.7.8"
    assert addressing.client("10.0.0.2", "5.6.7.8, unknown") is None, "a malformed hop: unknown, never the proxy"
    assert str(addressing.client("10.0.0.2", "5.6.7.8:4711")) == "5.6.7.8", "ports are stripped"
    assert str(addressing.client("10.0.0.2", "[2001:db8::1]:4711")) == "2001:db8::1"
    assert str(addressing.client("::ffff:10.0.0.2", "5.6.7.8")) == "5.6.7.8", "IPv4-mapped peers count as IPv4"


def test_a_cross_site_simple_post_cannot_unload_a_model() -> None:
    """No body and a text/plain type: a request any web page can make without a preflight."""
    with toy_server() as http:
        assert http.post("/models/m/load").json()["loaded"] is True
        forged = http.post(
            "/models/m/unload",
            headers={"Origin": "http://evil.example", "Content-Type": "text/plain", "Sec-Fetch-Site": "cross-site"},
        )
        assert forged.status_code == 403 and forged.json()["error"]["code"] == "FORBIDDEN"
        no_origin = http.post("/models/m/unload", headers={"Sec-Fetch-Site": "cross-site"})
        assert no_origin.status_code == 403
        null_origin = http.post("/models/m/unload", headers={"Origin": "null"})
        assert null_origin.status_code == 403, "sandboxed frames and file:// pages send Origin: null"
        status = http.get("/models/status").json()["registered_models"][0]
        assert status["loaded"] is True, "the model is still loaded"
        assert "access-control-allow-origin" not in forged.headers, "no CORS unless configured"
        own_docs = http.post("/models/m/unload", headers={"Origin": str(http.base_url).rstrip("/")})
        assert own_docs.status_code == 200, "the service's own /docs page may post to it"


def test_configured_origins_get_cors_and_may_post() -> None:
    with toy_server(CORS_ALLOW_ORIGINS="http://ui.example") as http:
        preflight = http.options(
            "/infer/m",
            headers={
                "Origin": "http://ui.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "http://ui.example"
        allowed = http.post("/infer/m", json=IMAGE, headers={"Origin": "http://ui.example"})
        assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == "http://ui.example"
        other = http.post("/infer/m", json=IMAGE, headers={"Origin": "http://evil.example"})
        assert other.status_code == 403 and "access-control-allow-origin" not in other.headers


def test_a_burst_over_the_rate_limit_gets_429_and_other_keys_are_unaffected(keys: Keys) -> None:
    with toy_server(API_KEYS_FILE=str(keys.file), RATE_LIMIT_PER_MINUTE="6", RATE_LIMIT_BURST="3") as http:
        answers = [http.get("/metrics", headers=bearer(keys.reader)) for _ in range(5)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
        limited = answers[3]
        assert limited.json()["error"]["code"] == "RATE_LIMIT_EXCEEDED"
        assert 1 <= int(limited.headers["Retry-After"]) <= 10, "a token returns every 10 s"
        assert http.get("/metrics", headers=bearer(keys.inferer)).status_code == 200, "another key has its own bucket"
        assert http.get("/health").status_code == 200, "probes are never rate limited"


def test_callers_without_keys_are_limited_per_address() -> None:
    with toy_server(RATE_LIMIT_PER_MINUTE="60", RATE_LIMIT_BURST="2") as http:
        codes = [http.get("/models/status").status_code for _ in range(3)]
        assert codes == [200, 200, 429]


def test_a_page_on_a_dns_name_is_not_trusted_as_the_services_own() -> None:
    """DNS rebinding: evil.example resolves to the service's address, so the browser sends
    Host and Origin that match; only IP literals and localhost count as the service."""
    with toy_server() as http:
        rebound = http.post(
            "/models/m/unload", headers={"Host": "evil.example:8094", "Origin": "http://evil.example:8094"}
        )
        assert rebound.status_code == 403
