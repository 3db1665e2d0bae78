"""HTTP overhead of the light enrichment service, per endpoint.

Starts ``python -m ai.enrichment`` (light role) as its own process, then for each
endpoint measures, interleaved in one run on the same images:

* in-process: decode the same JPEG bytes, crop, and run the endpoint's own declared
  ``prepare``, one ``run_batch`` on the same adapter family and backend, and ``finish``
  (what the service must do anyway);
* HTTP: the full request over loopback (base64, JSON, validation, the batcher, the model
  manager, the inference thread, the response).

Each timed call starts after a short idle pause (``--settle``), so neither path pays
for threads the other left spinning.

Prints p50/p95 of each and the ratio HTTP/in-process. Target on CPU: p50 <= 1.15x.
Run: ``make bench`` or ``python -m benchmarks.enrichment_http_overhead [--rounds N]``.
Uses the weights under AI_MODELS_PATH, writing demo weights to a temporary folder when
that holds none.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from ai.enrichment.service import EnrichmentService
from ai.enrichment.settings import EnrichmentSettings
from ai.runtime.declarations import ModelEndpoint
from ai.runtime.device import select_device
from ai.runtime.threads import configure_torch_threads
from benchmarks.harness import (
    LIGHT,
    PHOTO,
    SETTLE_S,
    in_process,
    light_services,
    load_adapter,
    models_root,
    percentile,
    photo_body,
)

TARGET = 1.15


def light_endpoints() -> dict[str, ModelEndpoint]:
    """Every single-model endpoint of the light models, by path."""
    return {
        e.contract.path: e
        for e in EnrichmentService.endpoints
        if isinstance(e, ModelEndpoint) and e.contract.model in LIGHT
    }


def request_bodies() -> dict[str, dict[str, Any]]:
    """The JSON body each light endpoint gets: the photo in base64 and the person box."""
    return {
        path: photo_body(**({"method": "median"} if path == "/object-distance" else {})) for path in light_endpoints()
    }


def in_process_calls(root: Path, settings: EnrichmentSettings, data: bytes) -> dict[str, Callable[[], Any]]:
    adapters = {name: load_adapter(name, root, settings) for name in LIGHT}
    bodies = request_bodies()
    return {
        path: in_process(endpoint, adapters[endpoint.contract.model or ""], settings, bodies[path], data)
        for path, endpoint in light_endpoints().items()
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30, help="measured calls per endpoint and path")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--settle", type=float, default=SETTLE_S, help="idle seconds before each timed call")
    args = parser.parse_args()

    root = models_root()
    settings = EnrichmentSettings(ENRICHMENT_ROLE="light", AI_MODELS_PATH=str(root))
    data = PHOTO.read_bytes()
    bodies = request_bodies()
    local = in_process_calls(root, settings, data)
    # The same threads per torch call as the service (after the loads, which may change
    # it), so the ratio is HTTP alone.
    configure_torch_threads(settings.torch_threads, settings.inference_workers)
    rows = []
    with light_services(root, {"service": {}}) as urls, httpx.Client(base_url=urls["service"], timeout=300) as client:
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
