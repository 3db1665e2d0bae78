"""What the benchmarks share: the photo and person box, weights (demo ones when none),
a light enrichment service in its own process, and the in-process twin of an endpoint."""

from __future__ import annotations

import base64
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from ai.contracts.enrichment_catalog import enrichment_entries
from ai.enrichment.settings import EnrichmentSettings
from ai.models.demo import write_demo_weights
from ai.runtime.backends import BackendOptions
from ai.runtime.catalog import load_catalog
from ai.runtime.declarations import Call, ModelEndpoint
from ai.runtime.device import select_device
from ai.runtime.families import ModelAdapter, get_family
from ai.runtime.image_request import load_image
from ai.runtime.model_env import model_env
from ai.runtime.resolve import resolve_weights

# ONNX Runtime's pool keeps spinning for tens of milliseconds after a run: without a
# pause, the path timed next shares the CPUs with it (on 2 CPUs pose took 95 ms
# instead of 65 on both paths, which flattered the ratio).
SETTLE_S = 0.1
PHOTO = Path(__file__).resolve().parent.parent / "docs" / "sample.jpg"
BOX = [50, 200, 300, 900]
LIGHT = ("threat_detector", "pose_estimator", "person_reid", "pet_classifier", "depth_estimator")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(call: Callable[[], Any]) -> float:
    """Milliseconds one call takes."""
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def models_root(names: tuple[str, ...] = LIGHT) -> Path:
    """AI_MODELS_PATH when it holds ``names`` (the light models by default), else demo
    weights in a temporary folder."""
    configured = Path(os.environ.get("AI_MODELS_PATH", "/models"))
    catalog = load_catalog()
    if all(resolve_weights(catalog[n], configured).available for n in names):
        return configured
    root = Path(tempfile.mkdtemp(prefix="bench-models-"))
    for name in names:
        write_demo_weights(catalog[name], root)
    print(f"no weights under {configured}; using demo weights in {root}", flush=True)
    return root


def photo_body(**extra: Any) -> dict[str, Any]:
    """The JSON body of a light endpoint: the photo in base64 and the person box."""
    return {"image": base64.b64encode(PHOTO.read_bytes()).decode(), "bbox": BOX, **extra}


def start_service(
    root: Path, port: int, extra_env: dict[str, str] | None = None, module: str = "ai.enrichment"
) -> subprocess.Popen[bytes]:
    """``python -m <module>`` (the light enrichment role by default) in its own process,
    once it answers /health."""
    env = {
        **os.environ,
        "ENRICHMENT_ROLE": "light",
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "AI_MODELS_PATH": str(root),
        "LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    process = subprocess.Popen([sys.executable, "-m", module], env=env)
    deadline = time.monotonic() + 120
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
            return process
        except httpx.HTTPError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{module} did not start") from None
            time.sleep(0.2)


@contextlib.contextmanager
def running_service(module: str, root: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """``python -m <module>`` on a free port, once its preloaded models answer (``/ready``)."""
    port = free_port()
    process = start_service(root, port, env, module=module)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while httpx.get(f"{url}/ready", timeout=5).status_code != 200:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{module} never became ready")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextlib.contextmanager
def light_services(root: Path, arms: dict[str, dict[str, str]]) -> Iterator[dict[str, str]]:
    """One light service per arm, each with its own variables; yields their URLs, stops them all."""
    processes: list[subprocess.Popen[bytes]] = []
    urls: dict[str, str] = {}
    try:
        for arm, env in arms.items():
            port = free_port()
            processes.append(start_service(root, port, env))
            urls[arm] = f"http://127.0.0.1:{port}"
        yield urls
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)


def load_adapter(name: str, root: Path, settings: EnrichmentSettings) -> ModelAdapter:
    """The same family, weights and backend choice as the service uses."""
    entry = enrichment_entries()[name]
    env = model_env(entry)
    found = resolve_weights(entry, root, settings.hf_home, env.model_path)
    assert found.path is not None, found.message
    family = get_family(entry.family)
    assert family is not None
    device = select_device(settings.device)
    options = BackendOptions(
        settings.cache_dir,
        settings.trt_cache,
        env.backend,
        env.use_tensorrt,
        settings.onnxruntime_spinning,
        env.batch_limits(entry, device.is_cuda).max_batch_size,
    )
    adapter = family(entry, found.path, device, options)
    family.prepare(adapter.device)
    adapter.load()
    return adapter


def in_process(
    endpoint: ModelEndpoint, adapter: ModelAdapter, settings: EnrichmentSettings, body: dict[str, Any], data: bytes
) -> Callable[[], Any]:
    """What the service must do for ``endpoint`` anyway, without HTTP: decode the same
    bytes, crop, prepare, one forward pass, finish."""
    request = endpoint.contract.request.model_validate({k: v for k, v in body.items() if k != "image"})

    def call() -> Any:
        image = load_image(data, request.bbox, settings.image_limits, "image", endpoint.crop)
        context = Call(request, image, settings)
        output = adapter.run_batch([endpoint.prepare(context)])[0]
        return endpoint.finish(context, output)

    return call
