"""HTTP overhead of the light enrichment service, per endpoint.

Starts ``python -m ai.enrichment`` (light role) as its own process, then for each
endpoint measures, interleaved in one run on the same images:

* in-process: decode the same JPEG bytes, crop, and call the same analysis function
  on the same adapter family with the same backend (what the service must do anyway);
* HTTP: the full request over loopback (base64, JSON, validation, the model manager,
  the inference thread, the response).

Each timed call starts after a short idle pause (``--settle``), so neither path pays
for threads the other left spinning.

Prints p50/p95 of each and the ratio HTTP/in-process. Target on CPU: p50 <= 1.15x.
Run: ``make bench`` or ``python -m benchmarks.enrichment_http_overhead [--rounds N]``.
Uses the weights under AI_MODELS_PATH, writing demo weights to a temporary folder when
that holds none.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from ai.contracts.images import Box
from ai.enrichment.depth import estimate_depth, object_distance
from ai.enrichment.distance import depth_png_base64
from ai.enrichment.pet import classify_pet
from ai.enrichment.pose import analyze_pose
from ai.enrichment.reid import embed_person
from ai.enrichment.settings import EnrichmentSettings
from ai.enrichment.threat import detect_threats
from ai.models.demo import write_demo_weights
from ai.runtime.backends import AdapterOptions
from ai.runtime.catalog import load_catalog
from ai.runtime.device import select_device
from ai.runtime.families import ModelAdapter, get_family
from ai.runtime.model_env import model_env
from ai.runtime.resolve import resolve_weights
from ai.runtime.threads import configure_torch_threads

TARGET = 1.15
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def models_root() -> Path:
    configured = Path(os.environ.get("AI_MODELS_PATH", "/models"))
    catalog = load_catalog()
    if all(resolve_weights(catalog[n], configured).available for n in LIGHT):
        return configured
    root = Path(tempfile.mkdtemp(prefix="bench-models-"))
    for name in LIGHT:
        write_demo_weights(catalog[name], root)
    print(f"no weights under {configured}; using demo weights in {root}", flush=True)
    return root


def load_adapter(name: str, root: Path, settings: EnrichmentSettings) -> ModelAdapter:
    """The same family, weights and backend choice as the service uses."""
    entry = load_catalog()[name]
    env = model_env(entry)
    found = resolve_weights(entry, root, settings.hf_home, env.model_path)
    assert found.path is not None, found.message
    family = get_family(entry.family)
    assert family is not None
    options = AdapterOptions(
        settings.cache_dir, settings.trt_cache, env.backend, env.use_tensorrt, settings.onnxruntime_spinning
    )
    adapter = family(entry, found.path, select_device(settings.device), options)
    family.prepare(adapter.device)
    adapter.load()
    return adapter


def decode_crop(data: bytes) -> tuple[Image.Image, Image.Image]:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    return image, image.crop(tuple(BOX))


def in_process_calls(root: Path, settings: EnrichmentSettings, data: bytes) -> dict[str, Callable[[], Any]]:
    adapters = {name: load_adapter(name, root, settings) for name in LIGHT}
    offset = (float(BOX[0]), float(BOX[1]))

    def pose() -> Any:
        return analyze_pose(
            adapters["pose_estimator"],
            decode_crop(data)[1],
            offset,
            settings.pose_confidence,
            settings.keypoint_confidence,
        )

    def threat() -> Any:
        return detect_threats(adapters["threat_detector"], decode_crop(data)[1], offset, settings.threat_confidence)

    def depth() -> Any:
        result = estimate_depth(adapters["depth_estimator"], decode_crop(data)[1])
        return depth_png_base64(result.values)

    def distance() -> Any:
        return object_distance(
            adapters["depth_estimator"],
            decode_crop(data)[0],
            Box(*map(float, BOX)),
            "median",
            settings.depth_max_distance_m,
        )

    return {
        "/pose-analyze": pose,
        "/threat-detect": threat,
        "/person-reid": lambda: embed_person(adapters["person_reid"], decode_crop(data)[1]),
        "/pet-classify": lambda: classify_pet(adapters["pet_classifier"], decode_crop(data)[1]),
        "/depth-estimate": depth,
        "/object-distance": distance,
    }


def request_bodies(data: bytes) -> dict[str, dict[str, Any]]:
    """The JSON body each light endpoint gets: the photo in base64 and the person box."""
    body = {"image": base64.b64encode(data).decode(), "bbox": BOX}
    bodies = {
        endpoint: body
        for endpoint in ("/pose-analyze", "/threat-detect", "/person-reid", "/pet-classify", "/depth-estimate")
    }
    bodies["/object-distance"] = {**body, "method": "median"}
    return bodies


def start_service(root: Path, port: int, extra_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ENRICHMENT_ROLE": "light",
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "AI_MODELS_PATH": str(root),
        "LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    process = subprocess.Popen([sys.executable, "-m", "ai.enrichment"], env=env)
    deadline = time.monotonic() + 120
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
            return process
        except httpx.HTTPError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the enrichment service did not start") from None
            time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30, help="measured calls per endpoint and path")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--settle", type=float, default=SETTLE_S, help="idle seconds before each timed call")
    args = parser.parse_args()

    root = models_root()
    settings = EnrichmentSettings(ENRICHMENT_ROLE="light", AI_MODELS_PATH=str(root))
    data = PHOTO.read_bytes()
    bodies = request_bodies(data)
    local = in_process_calls(root, settings, data)
    # The same threads per torch call as the service (after the loads, which may change
    # it), so the ratio is HTTP alone.
    configure_torch_threads(settings.torch_threads, settings.inference_workers)
    port = free_port()
    service = start_service(root, port)
    rows = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300) as client:
            for endpoint, call in local.items():

                def over_http(endpoint: str = endpoint) -> None:
                    client.post(endpoint, json=bodies[endpoint]).raise_for_status()

                for _ in range(args.warmup):  # loads, exports, caches
                    over_http()
                    call()
                timings: dict[str, list[float]] = {"local": [], "http": []}
                for _ in range(args.rounds):  # interleaved, so drift hits both alike
                    for label, fn in (("local", call), ("http", over_http)):
                        time.sleep(args.settle)
                        started = time.perf_counter()
                        fn()
                        timings[label].append((time.perf_counter() - started) * 1000.0)
                rows.append((endpoint, timings["local"], timings["http"]))
                print(f"measured {endpoint}", flush=True)
    finally:
        service.terminate()
        service.wait(timeout=30)

    header = (
        f"{'endpoint':<18}{'in-proc p50':>12}{'p95':>9}{'HTTP p50':>11}{'p95':>9}{'p50 ratio':>11}{'p95 ratio':>11}"
    )
    print("\n" + header + f"  target p50 <= {TARGET}x")
    print("-" * len(header))
    worst = 0.0
    for endpoint, local_ms, http_ms in rows:
        lp50, lp95 = statistics.median(local_ms), percentile(local_ms, 0.95)
        hp50, hp95 = statistics.median(http_ms), percentile(http_ms, 0.95)
        ratio = hp50 / lp50
        worst = max(worst, ratio)
        verdict = "ok" if ratio <= TARGET else "OVER"
        print(
            f"{endpoint:<18}{lp50:>10.1f}ms{lp95:>7.1f}ms{hp50:>9.1f}ms{hp95:>7.1f}ms"
            f"{ratio:>10.2f}x{hp95 / lp95:>10.2f}x  {verdict}"
        )
    print(f"\nworst p50 ratio {worst:.2f}x over {args.rounds} calls per path ({select_device(settings.device).name})")
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
