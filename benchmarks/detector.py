"""The detector's fast path, side by side in one run, on the same weights and photo.

(a) Ultralytics' PyTorch ``predict`` in this process; (b) the bare ONNX Runtime session
the service runs, on a tensor prepared beforehand (the model alone); (c) the service's
``/detect`` over HTTP, one request at a time (decode, letterbox, the model, decoding,
HTTP); (d) requests per second from 8 concurrent clients, batching on (the catalog's CPU
batch) and off (``YOLO26_MAX_BATCH_SIZE=1``). (a), (b) and (c) are interleaved round by
round, so the machine's drift hits all three alike.

Targets on the CPU: (c) p50 <= 1.25x (b) p50; (c) >= 1.8x faster than (a); (d) on no
slower than off. Weights: ``--weights`` (any Ultralytics detection .pt), else the
catalog's yolo26 under AI_MODELS_PATH, else demo weights (yolo26n layout).

Run: ``make bench-detector`` or ``python -m benchmarks.detector [--rounds N] [--seconds S]``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from ai.detector.settings import DetectorSettings
from ai.models.demo import write_demo_weights
from ai.runtime.catalog import load_catalog
from ai.runtime.device import select_device
from ai.runtime.families.ultralytics_base import import_yolo
from ai.runtime.families.yolo_tensors import letterbox_batch
from ai.runtime.hosting import spec_for_entry
from ai.runtime.resolve import resolve_weights
from ai.runtime.threads import configure_torch_threads
from benchmarks.batching import closed_loop, post
from benchmarks.harness import SETTLE_S, percentile, running_service, timed
from tests.support.images import real_photo

PHOTO = real_photo("bus.jpg")


def weights_root(weights: str | None) -> tuple[Path, dict[str, str]]:
    """A models root holding yolo26's weights, and the variables that point at them."""
    if weights:
        return Path(tempfile.mkdtemp(prefix="bench-detector-")), {"YOLO26_MODEL_PATH": str(Path(weights).resolve())}
    configured = Path(os.environ.get("AI_MODELS_PATH", "/models"))
    if resolve_weights(load_catalog()["yolo26"], configured).available:
        return configured, {}
    root = Path(tempfile.mkdtemp(prefix="bench-detector-"))
    write_demo_weights(load_catalog()["yolo26"], root)
    print(f"no yolo26 weights under {configured}; using demo weights in {root}", flush=True)
    return root, {}


@contextlib.contextmanager
def detector(root: Path, env: dict[str, str]) -> Iterator[str]:
    quiet = {"DRIFT_ENABLED": "false", "ACTIVE_LEARNING_ENABLED": "false", "DETECTOR_DATA_DIR": str(root / "data")}
    with running_service("ai.detector", root, {**quiet, **env}) as url:
        yield url


def row(name: str, values: list[float]) -> str:
    return f"  {name:<44} p50 {statistics.median(values):7.1f} ms   p95 {percentile(values, 0.95):7.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", help="an Ultralytics detection checkpoint (.pt)")
    parser.add_argument("--rounds", type=int, default=40, help="timed calls per path for (a), (b), (c)")
    parser.add_argument("--seconds", type=float, default=8.0, help="closed-loop seconds per arm and repetition")
    parser.add_argument("--repeats", type=int, default=2, help="alternations of on/off for (d)")
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()

    root, env = weights_root(args.weights)
    os.environ.update(env)
    settings = DetectorSettings(AI_MODELS_PATH=str(root))
    threads = configure_torch_threads(settings.torch_threads, settings.inference_workers)
    device = select_device("cpu")
    entry = load_catalog()["yolo26"]
    spec = spec_for_entry(entry, settings, device)
    adapter = spec.load()  # the service's family, weights, export and session options
    weights = adapter.weights
    stride = adapter.runner.stride if adapter.runner.input_size is None else None  # the input the service builds
    tensor, _ = letterbox_batch([np.asarray(Image.open(PHOTO).convert("RGB"))], adapter.input_size, stride)
    ultralytics_model = import_yolo()(str(weights))
    image = Image.open(PHOTO).convert("RGB")
    body = {"image": base64.b64encode(PHOTO.read_bytes()).decode(), "camera_id": "bench"}
    content = httpx.Request("POST", "http://x", json=body).content
    shape = "x".join(map(str, tensor.shape[2:]))
    print(f"weights {weights} on {adapter.backend}, {threads} thread(s) per call, {PHOTO.name} at {shape}", flush=True)

    paths = {
        "a": lambda: ultralytics_model.predict(image, conf=settings.confidence, imgsz=640, verbose=False),
        "b": lambda: adapter.runner(tensor),
    }
    results: dict[str, list[float]] = {"a": [], "b": [], "c": []}
    with detector(root, env) as on_url, httpx.Client(base_url=on_url, timeout=300) as client:
        paths["c"] = lambda: post(client, "/detect", content)
        for _ in range(args.warmup):
            for call in paths.values():
                call()
        for _ in range(args.rounds):
            for name, call in paths.items():
                time.sleep(SETTLE_S)
                results[name].append(timed(call))
        with detector(root, {**env, "YOLO26_MAX_BATCH_SIZE": "1"}) as off_url:
            rates: dict[str, list[float]] = {"on": [], "off": []}
            p95: dict[str, list[float]] = {"on": [], "off": []}
            for _ in range(args.repeats):
                for arm, url in (("on", on_url), ("off", off_url)):
                    time.sleep(1.0)
                    rate, latencies = asyncio.run(closed_loop(url, "/detect", content, args.seconds))
                    rates[arm].append(rate)
                    p95[arm].append(percentile(latencies, 0.95))

    a, b, c = (statistics.median(results[k]) for k in "abc")
    on, off = statistics.mean(rates["on"]), statistics.mean(rates["off"])
    print("\nsingle requests (interleaved):")
    print(row("(a) Ultralytics PyTorch predict, in-process", results["a"]))
    print(row("(b) bare ONNX Runtime session, prepared tensor", results["b"]))
    print(row("(c) service /detect over HTTP", results["c"]))
    print("\n8 concurrent clients on /detect:")
    print(f"  (d) batching on   {on:6.2f} req/s   p95 {statistics.mean(p95['on']):7.1f} ms")
    print(f"      batching off  {off:6.2f} req/s   p95 {statistics.mean(p95['off']):7.1f} ms")
    print("\nratio                                  measured   target")
    checks = [
        ("(c) / (b) p50: everything but the model", c / b, "<= 1.25", c / b <= 1.25),
        ("(a) / (c) p50: faster than Ultralytics", a / c, ">= 1.80", a / c >= 1.8),
        ("(d) on / off req/s: batching's gain", on / off, ">= 1.00", on / off >= 0.97),
    ]
    for name, value, target, met in checks:
        print(f"  {name:<38} {value:6.2f}x   {target}   {'met' if met else 'NOT MET'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
