"""HTTP overhead of the Florence-2 and CLIP services, and what batching gives CLIP.

In one run, on the same photo (docs/sample.jpg):

(a) Florence-2 ``/caption``: in-process (decode the same JPEG bytes, the endpoint's own
    ``prepare``, one ``run_batch`` on the service's family and weights, ``finish``) vs
    the full request over loopback to ``python -m ai.florence``; p50/p95, ratio.
(b) CLIP ``/embed``: the same comparison against ``python -m ai.clip``.
(c) CLIP ``/embed`` with 8 clients in a closed loop: requests per second with the
    catalog's batching and with ``CLIP_MAX_BATCH_SIZE=1``, alternated; ratio.
(d) Florence-2 ``/caption`` the same way, batches of 4 (the GPU setting) against 1
    (the CPU setting).

Each timed call starts after a short idle pause, so neither path pays for threads the
other left spinning. Uses the weights under AI_MODELS_PATH when both models are there,
else demo weights in a temporary folder (their ratios, not their times, carry over).
Run: ``make bench-vision`` or ``python -m benchmarks.vision_language``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from ai.clip.settings import ClipSettings
from ai.florence.endpoints import ENDPOINTS as FLORENCE_ENDPOINTS
from ai.florence.settings import FlorenceSettings
from ai.runtime.catalog import load_catalog
from ai.runtime.declarations import Call
from ai.runtime.device import select_device
from ai.runtime.hosting import spec_for_entry
from ai.runtime.image_request import load_image
from ai.runtime.threads import configure_torch_threads
from benchmarks.batching import CLIENTS, closed_loop
from benchmarks.harness import PHOTO, SETTLE_S, models_root, percentile, running_service, timed

MODELS = ("florence", "clip")


def compare(name: str, local: Callable[[], Any], remote: Callable[[], Any], rounds: int, warmup: int) -> list[str]:
    """Interleaved timings of both paths; a table row each and their ratio."""
    for _ in range(warmup):
        local(), remote()
    times: dict[str, list[float]] = {"in-process": [], "HTTP": []}
    for _ in range(rounds):
        for arm, call in (("in-process", local), ("HTTP", remote)):
            time.sleep(SETTLE_S)
            times[arm].append(timed(call))
    rows = [
        f"  {name} {arm:<11} p50 {statistics.median(v):8.1f} ms   p95 {percentile(v, 0.95):8.1f} ms"
        for arm, v in times.items()
    ]
    ratio = statistics.median(times["HTTP"]) / statistics.median(times["in-process"])
    return [*rows, f"  {name} HTTP / in-process p50: {ratio:.2f}x"]


def florence_paths(root: Path, url: str, client: httpx.Client) -> tuple[Callable[[], Any], Callable[[], Any]]:
    settings = FlorenceSettings(AI_MODELS_PATH=str(root))
    adapter = spec_for_entry(load_catalog()["florence"], settings, select_device("cpu")).load()
    endpoint = next(e for e in FLORENCE_ENDPOINTS if e.contract.path == "/caption")
    data = PHOTO.read_bytes()
    request = endpoint.contract.request.model_validate({})

    def local() -> Any:
        image = load_image(data, None, settings.image_limits, "image", endpoint.crop)
        call = Call(request, image, settings)
        return endpoint.finish(call, adapter.run_batch([endpoint.prepare(call)])[0])

    body = httpx.Request("POST", url, json={"image": base64.b64encode(data).decode()}).content
    headers = {"content-type": "application/json"}
    return local, lambda: client.post("/caption", content=body, headers=headers).raise_for_status()


def clip_paths(root: Path, client: httpx.Client) -> tuple[Callable[[], Any], Callable[[], Any]]:
    settings = ClipSettings(AI_MODELS_PATH=str(root))
    adapter = spec_for_entry(load_catalog()["clip"], settings, select_device("cpu")).load()
    data = PHOTO.read_bytes()

    def local() -> Any:
        image = load_image(data, None, settings.image_limits, "image", True, min_side=224)
        return [round(float(v), 6) for v in adapter.run_batch([image.image])[0]]

    body = httpx.Request("POST", "http://x", json={"image": base64.b64encode(data).decode()}).content
    headers = {"content-type": "application/json"}
    return local, lambda: client.post("/embed", content=body, headers=headers).raise_for_status()


def batching_rows(
    name: str, path: str, root: Path, on: dict[str, str], off: dict[str, str], args: argparse.Namespace
) -> list[str]:
    """Closed-loop requests per second of the service with batching on and off, alternated."""
    body = httpx.Request("POST", "http://x", json={"image": base64.b64encode(PHOTO.read_bytes()).decode()}).content
    rates: dict[str, list[float]] = {"batching on": [], "batching off": []}
    with running_service(f"ai.{name}", root, on) as on_url, running_service(f"ai.{name}", root, off) as off_url:
        arms = (("batching on", on_url), ("batching off", off_url))
        for _, url in arms:
            asyncio.run(closed_loop(url, path, body, 1.0))  # warm-up
        for _ in range(args.repeats):
            for arm, url in arms:
                rates[arm].append(asyncio.run(closed_loop(url, path, body, args.seconds))[0])
    rows = []
    for arm, values in rates.items():
        runs = ", ".join(f"{v:.1f}" for v in values)
        rows.append(f"  {name} {arm:<12} {statistics.mean(values):8.1f} req/s  (runs: {runs})")
    ratio = statistics.mean(rates["batching on"]) / statistics.mean(rates["batching off"])
    return [*rows, f"  {name} batching on / off: {ratio:.2f}x"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30, help="timed calls per path for (a) and (b)")
    parser.add_argument("--seconds", type=float, default=8.0, help="closed-loop seconds per arm and repetition")
    parser.add_argument("--repeats", type=int, default=2, help="alternations of on/off for (c) and (d)")
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()

    root = models_root(MODELS)
    threads = configure_torch_threads(FlorenceSettings().torch_threads, FlorenceSettings().inference_workers)
    print(f"{PHOTO.name}, CPU, {threads} thread(s) per call, weights in {root}", flush=True)
    table = ["", "(a) Florence-2 /caption"]
    with running_service("ai.florence", root) as url, httpx.Client(base_url=url, timeout=300) as client:
        table += compare("florence", *florence_paths(root, url, client), args.rounds, args.warmup)
    table += ["", "(b) CLIP /embed"]
    with running_service("ai.clip", root) as url, httpx.Client(base_url=url, timeout=300) as client:
        table += compare("clip", *clip_paths(root, client), args.rounds, args.warmup)
    table += ["", f"(c) CLIP /embed, {CLIENTS} concurrent clients"]
    table += batching_rows("clip", "/embed", root, {}, {"CLIP_MAX_BATCH_SIZE": "1"}, args)
    table += ["", f"(d) Florence-2 /caption, {CLIENTS} concurrent clients"]
    table += batching_rows(
        "florence", "/caption", root, {"FLORENCE_MAX_BATCH_SIZE": "4"}, {"FLORENCE_MAX_BATCH_SIZE": "1"}, args
    )
    print("\n".join(table), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
