"""A service as a small folder (tests/support/toy/): declared calls checked at start-up,
and batched by the runtime over real HTTP."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from ai.contracts.endpoints import Endpoint
from ai.contracts.images import ImageRequest
from ai.models.demo import write_demo_weights
from ai.runtime.catalog import CatalogError, read_catalog
from ai.runtime.declarations import ModelEndpoint
from ai.runtime.errors import StartupError
from ai.runtime.families import ModelAdapter, register_family
from ai.runtime.families.tasks import Task
from ai.runtime.model_service import create_service_app
from tests.support.images import b64, jpeg_bytes, png_bytes
from tests.support.server import LiveServer
from tests.support.toy.service import EMBED, EMBED_ENDPOINT, ToyEmbedding, ToyService, ToySettings

TOY_CATALOG = ToyService.catalog_path()
COLOURS = ["red", "green", "blue", "yellow", "purple", "orange"]


@pytest.fixture(scope="module")
def toy_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("toy-models")
    write_demo_weights(read_catalog(TOY_CATALOG)["toy_embedder"], root)
    return root


def toy_server(models: Path, service: type[ToyService] = ToyService, **env: Any) -> LiveServer:
    settings = ToySettings(AI_MODELS_PATH=str(models), **env)
    return LiveServer(create_service_app(service(settings)))


def image(colour: str, side: int = 32) -> dict[str, str]:
    return {"image": b64(png_bytes(side, side, colour))}


def metric(client: httpx.Client, series: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return 0.0


def post_all(client: httpx.Client, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    with concurrent.futures.ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(lambda body: client.post("/embed", json=body), bodies))


@pytest.fixture(scope="module")
def unbatched(toy_models: Path) -> dict[str, list[float]]:
    """Each colour's embedding from a request that ran alone."""
    with toy_server(toy_models) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        return {colour: client.post("/embed", json=image(colour)).json()["embedding"] for colour in COLOURS}


def test_the_toy_folder_is_a_whole_service_with_openapi_and_the_runtime_endpoints(toy_models: Path) -> None:
    with toy_server(toy_models) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        answer = client.post("/embed", json=image("red"))
        schema = client.get("/openapi.json").json()
        health = client.get("/health").json()
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["embedding"]) == 4 and answer.json()["inference_time_ms"] >= 150
    content = schema["paths"]["/embed"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= content.keys()
    assert health["models_loaded"] == {"toy_embedder": True} and health["demo_weights"] == {"toy_embedder": True}


def test_concurrent_requests_form_a_batch_whose_results_equal_the_unbatched_ones(
    toy_models: Path, unbatched: dict[str, list[float]]
) -> None:
    with (
        toy_server(toy_models, INFERENCE_WORKERS=1) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        responses = post_all(client, [image(colour) for colour in COLOURS])
        executions = metric(client, 'toy_model_executions_total{model="toy_embedder"}')
        inferences = metric(client, 'toy_model_inferences_total{model="toy_embedder"}')
        singles = metric(client, 'toy_model_batch_size_bucket{le="1.0",model="toy_embedder"}')
    assert [r.status_code for r in responses] == [200] * len(COLOURS)
    assert inferences == len(COLOURS) and executions < inferences, "no batch formed"
    assert singles < executions, "a batch larger than 1 shows in the batch-size histogram"
    for colour, response in zip(COLOURS, responses, strict=True):
        assert response.json()["embedding"] == pytest.approx(unbatched[colour], abs=1e-6), colour


def test_a_lone_request_is_not_delayed_by_max_queue_delay(toy_models: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOY_EMBEDDER_MAX_QUEUE_DELAY_MS", "1000")
    with toy_server(toy_models) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        client.post("/models/toy_embedder/load")
        started = time.perf_counter()
        response = client.post("/embed", json=image("red"))
        took = time.perf_counter() - started
    assert response.status_code == 200
    assert took < 0.15 + 0.5, f"a lone request took {took:.2f}s with a 1 s queue delay configured"


def test_the_batch_size_variable_turns_batching_off(toy_models: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOY_EMBEDDER_MAX_BATCH_SIZE", "1")
    with (
        toy_server(toy_models, INFERENCE_WORKERS=1) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        responses = post_all(client, [image(colour) for colour in COLOURS[:4]])
        executions = metric(client, 'toy_model_executions_total{model="toy_embedder"}')
        status = client.get("/models/status").json()["registered_models"][0]
    assert [r.status_code for r in responses] == [200] * 4
    assert executions == 4
    assert (status["max_batch_size"], status["max_queue_delay_ms"]) == (1, 200)


def test_a_corrupt_image_among_concurrent_requests_fails_only_its_own(
    toy_models: Path, unbatched: dict[str, list[float]]
) -> None:
    truncated = {"image": b64(jpeg_bytes(64, 64)[:200])}
    with (
        toy_server(toy_models, INFERENCE_WORKERS=1) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        responses = post_all(client, [image("red"), image("green"), truncated, image("blue")])
        assert client.get("/health").status_code == 200
    codes = [r.status_code for r in responses]
    assert codes == [200, 200, 400, 200], codes
    assert responses[2].json()["error"]["code"] == "INVALID_REQUEST"
    for colour, response in zip(["red", "green", None, "blue"], responses, strict=True):
        if colour:
            assert response.json()["embedding"] == pytest.approx(unbatched[colour], abs=1e-6)


def test_an_input_the_model_cannot_take_fails_only_its_own_request_in_a_shared_batch(
    toy_models: Path, unbatched: dict[str, list[float]]
) -> None:
    """The toy model raises on images under 16 px: it shares a pass with the others,
    the pass fails, and the runtime reruns the inputs one by one. When the small image
    happens to arrive first it runs alone (an idle model never waits), so the round is
    sent again until it shared a pass (each round's answers must be right either way)."""
    bodies = [image("red"), image("green"), image("white", side=10), image("blue"), image("yellow")]
    split = False
    with (
        toy_server(toy_models, INFERENCE_WORKERS=1) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        for _round in range(6):
            before = metric(client, 'toy_model_inferences_total{model="toy_embedder"}')
            responses = post_all(client, bodies)
            inferences = metric(client, 'toy_model_inferences_total{model="toy_embedder"}') - before
            codes = [r.status_code for r in responses]
            assert codes == [200, 200, 500, 200, 200], codes
            error = responses[2].json()["error"]
            assert error["code"] == "INFERENCE_FAILED" and "minimum side" in error["message"]
            for index, colour in ((0, "red"), (1, "green"), (3, "blue"), (4, "yellow")):
                assert responses[index].json()["embedding"] == pytest.approx(unbatched[colour], abs=1e-6)
            if inferences > len(bodies):  # a failed shared pass ran its inputs again, one by one
                split = True
                break
    assert split, "the small image never shared a pass in six rounds"


def test_a_full_queue_answers_503_with_retry_after(toy_models: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOY_EMBEDDER_MAX_BATCH_SIZE", "1")
    with (
        toy_server(toy_models, INFERENCE_WORKERS=1, MAX_QUEUED_REQUESTS=2) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        client.post("/models/toy_embedder/load")
        responses = post_all(client, [image(colour) for colour in COLOURS])
    codes = sorted(r.status_code for r in responses)
    assert codes.count(200) >= 3 and 503 in codes, codes
    for refused in (r for r in responses if r.status_code == 503):
        assert refused.json()["error"]["code"] == "RESOURCE_EXHAUSTED"
        assert int(refused.headers["Retry-After"]) >= 1


def test_a_failing_finish_is_the_models_500_and_the_service_keeps_serving(toy_models: Path) -> None:
    def broken(_call: object, vector: object) -> dict[str, object]:
        raise ValueError("a post-processing bug")

    service = _service_with(dataclasses.replace(EMBED_ENDPOINT, finish=broken))
    with toy_server(toy_models, service) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        response = client.post("/embed", json=image("red"))
        health = client.get("/health")
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "INFERENCE_FAILED" and "post-processing failed: ValueError" in error["message"]
    assert health.status_code == 200


def _service_with(*endpoints: ModelEndpoint, catalog: Path | None = None) -> type[ToyService]:
    class Variant(ToyService):
        pass

    Variant.endpoints = endpoints
    if catalog is not None:
        Variant.catalog_path = classmethod(lambda cls: catalog)  # type: ignore[method-assign]
    return Variant


def _start(service: type[ToyService], models: Path) -> None:
    create_service_app(service(ToySettings(AI_MODELS_PATH=str(models))))


def test_start_up_fails_for_an_endpoint_naming_an_unknown_model(toy_models: Path) -> None:
    typo = dataclasses.replace(EMBED_ENDPOINT, contract=dataclasses.replace(EMBED, model="toy_embeder"))
    with pytest.raises(StartupError) as failed:
        _start(_service_with(typo), toy_models)
    message = str(failed.value)
    assert "POST /embed runs model 'toy_embeder', which is not in" in message
    assert str(TOY_CATALOG) in message and "toy_embedder" in message, "names the file and the known models"


def test_start_up_fails_for_a_family_that_lacks_the_task_and_names_families_that_have_it(toy_models: Path) -> None:
    detect = Endpoint("/detect", ImageRequest, ToyEmbedding, "toy_embedder")
    wrong = ModelEndpoint(detect, Task.DETECT, lambda call: call.image.image, lambda call, out: {})
    with pytest.raises(StartupError) as failed:
        _start(_service_with(EMBED_ENDPOINT, wrong), toy_models)
    message = str(failed.value)
    assert "POST /detect needs toy_embedder to detect, but family toy_embed does only embed" in message
    assert "ultralytics_detect" in message, "the fix names a family that can"


class _NoRunBatchYet(ModelAdapter):
    """A family someone forgot to finish."""

    family = "toy_unfinished"
    tasks = frozenset({Task.EMBED})

    @classmethod
    def find_weights(cls, folder: Path) -> Path | None:
        return None

    @classmethod
    def write_demo(cls, folder: Path, entry: object) -> None:
        raise NotImplementedError

    @classmethod
    def prepare(cls, device: object) -> None:
        pass

    def load(self) -> None:
        pass


register_family(_NoRunBatchYet)


def _catalog(tmp_path: Path, row: str) -> Path:
    path = tmp_path / "catalog.toml"
    path.write_text(row, encoding="utf-8")
    return path


ROW = """[models.toy_embedder]
family = "{family}"
source = "package:tests"
vram_mb = 10
priority = "MEDIUM"
license = "MIT"
batching = {{ max_batch_size = 4, max_queue_delay_ms = 5 }}
{extra}
"""


def test_start_up_fails_for_a_family_without_run_batch(toy_models: Path, tmp_path: Path) -> None:
    catalog = _catalog(tmp_path, ROW.format(family="toy_unfinished", extra=""))
    with pytest.raises(
        StartupError, match=r"family toy_unfinished does not implement run_batch; add e\.g\. `def run_batch"
    ):
        _start(_service_with(EMBED_ENDPOINT, catalog=catalog), toy_models)


def test_start_up_fails_for_a_catalog_row_missing_a_common_field(toy_models: Path, tmp_path: Path) -> None:
    row = ROW.format(family="toy_embed", extra="").replace('license = "MIT"\n', "")
    catalog = _catalog(tmp_path, row)
    with pytest.raises(CatalogError) as failed:
        _start(_service_with(EMBED_ENDPOINT, catalog=catalog), toy_models)
    message = str(failed.value)
    assert "[models.toy_embedder] is missing license" in message and str(catalog) in message


def test_start_up_fails_for_options_the_family_does_not_know(toy_models: Path, tmp_path: Path) -> None:
    catalog = _catalog(tmp_path, ROW.format(family="toy_embed", extra="options = { min_sid = 16 }"))
    with pytest.raises(StartupError, match=r"options\] does not fit family toy_embed: min_sid: Extra inputs"):
        _start(_service_with(EMBED_ENDPOINT, catalog=catalog), toy_models)


def test_start_up_fails_for_a_field_the_service_does_not_define(toy_models: Path, tmp_path: Path) -> None:
    catalog = _catalog(tmp_path, ROW.format(family="toy_embed", extra='role = "light"'))
    with pytest.raises(CatalogError, match=r"role: Extra inputs are not permitted"):
        _start(_service_with(EMBED_ENDPOINT, catalog=catalog), toy_models)


def test_the_command_line_exits_2_with_one_message_not_a_traceback(tmp_path: Path) -> None:
    """A bad per-model variable stops ``python -m ai.enrichment`` before it serves."""
    result = subprocess.run(
        [sys.executable, "-m", "ai.enrichment"],
        env={"PATH": "/usr/bin:/bin", "ENRICHMENT_POSE_SERVICE": "medium", "AI_MODELS_PATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert re.search(
        r"error: invalid setting for pose_estimator: ENRICHMENT_POSE_SERVICE: Input should be", result.stderr
    )
