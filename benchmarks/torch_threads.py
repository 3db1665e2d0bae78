"""Threads per torch call: the runtime's choice against torch's default, per endpoint.

Starts the light enrichment service twice on the same weights, side by side:

* ``fitted``: ``TORCH_THREADS`` unset, so the runtime gives each call the usable CPUs
  divided by ``INFERENCE_WORKERS + 1`` (see ``ai/runtime/threads.py``);
* ``default``: ``TORCH_THREADS`` = the usable CPUs, torch's own default.

Per endpoint it interleaves single requests to the two (p50 latency), then runs
``--concurrency`` requests at a time against each (requests per second), and prints
the ratios (latency default/fitted, throughput fitted/default: above 1, the
fitted choice is faster).
Run: ``make bench-threads`` or ``python -m benchmarks.torch_threads [--rounds N]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from ai.runtime.threads import usable_cpus
from benchmarks.enrichment_http_overhead import PHOTO, free_port, models_root, request_bodies, start_service

ARMS = ("fitted", "default")


def timed_post(client: httpx.Client, endpoint: str, body: dict[str, Any]) -> float:
    started = time.perf_counter()
    client.post(endpoint, json=body).raise_for_status()
    return (time.perf_counter() - started) * 1000.0


def throughput(url: str, endpoint: str, body: dict[str, Any], concurrency: int, requests: int) -> float:
    """Requests per second with ``concurrency`` clients each sending in a loop."""
    clients = [httpx.Client(base_url=url, timeout=300) for _ in range(concurrency)]
    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(lambda i: timed_post(clients[i % concurrency], endpoint, body), range(requests)))
        return requests / (time.perf_counter() - started)
    finally:
        for client in clients:
            client.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20, help="single requests per endpoint and arm")
    parser.add_argument("--concurrency", type=int, default=4, help="clients at a time for the throughput run")
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()

    root = models_root()
    cpus = usable_cpus()
    bodies = request_bodies(PHOTO.read_bytes())
    os.environ.pop("TORCH_THREADS", None)
    envs = {"fitted": {}, "default": {"TORCH_THREADS": str(cpus)}}
    ports = {arm: free_port() for arm in ARMS}
    services = {arm: start_service(root, ports[arm], envs[arm]) for arm in ARMS}
    urls = {arm: f"http://127.0.0.1:{ports[arm]}" for arm in ARMS}
    rows = []
    try:
        clients = {arm: httpx.Client(base_url=urls[arm], timeout=300) for arm in ARMS}
        for endpoint, body in bodies.items():
            for _ in range(args.warmup):  # loads, exports, caches
                for arm in ARMS:
                    timed_post(clients[arm], endpoint, body)
            latency: dict[str, list[float]] = {arm: [] for arm in ARMS}
            for _ in range(args.rounds):  # interleaved, so drift hits both alike
                for arm in ARMS:
                    latency[arm].append(timed_post(clients[arm], endpoint, body))
            rate = {
                arm: throughput(urls[arm], endpoint, body, args.concurrency, args.rounds * args.concurrency // 2)
                for arm in ARMS
            }
            rows.append((endpoint, {arm: statistics.median(latency[arm]) for arm in ARMS}, rate))
            print(f"measured {endpoint}", flush=True)
        for client in clients.values():
            client.close()
    finally:
        for service in services.values():
            service.terminate()
            service.wait(timeout=30)

    header = (
        f"{'endpoint':<18}{'fitted p50':>11}{'default p50':>12}{'p50 ratio':>10}"
        f"{'fitted req/s':>13}{'default req/s':>14}{'req/s ratio':>12}"
    )
    print(f"\n{cpus} usable CPU(s); default runs {cpus} thread(s) per call; ratios above 1: fitted is faster")
    print(header)
    print("-" * len(header))
    for endpoint, p50, rate in rows:
        print(
            f"{endpoint:<18}{p50['fitted']:>9.1f}ms{p50['default']:>10.1f}ms{p50['default'] / p50['fitted']:>9.2f}x"
            f"{rate['fitted']:>13.1f}{rate['default']:>14.1f}{rate['fitted'] / rate['default']:>11.2f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
