"""Two settings of the light enrichment service side by side, per endpoint.

Starts ``python -m ai.enrichment`` (light role) twice on the same weights: ``A`` with
the defaults and ``B`` with the variables given by ``--b VAR=VALUE`` (by default
``TORCH_THREADS`` = the usable CPUs, torch's own choice, against the runtime's fitted
one). Per endpoint it interleaves single requests to the two (p50 latency), then runs
``--concurrency`` clients at a time against each (requests per second); a last row,
``mixed``, sends every endpoint at once, as a busy camera does. Ratios above 1 mean
the defaults (A) are faster.

Run: ``make bench-threads`` / ``make bench-spinning`` or
``python -m benchmarks.service_settings [--b VAR=VALUE ...] [--rounds N]``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from ai.runtime.threads import usable_cpus
from benchmarks.enrichment_http_overhead import request_bodies
from benchmarks.harness import SETTLE_S, light_services, models_root

ARMS = ("A", "B")
MIXED = "mixed"


def timed_post(client: httpx.Client, endpoint: str, body: dict[str, Any]) -> float:
    started = time.perf_counter()
    client.post(endpoint, json=body).raise_for_status()
    return (time.perf_counter() - started) * 1000.0


def throughput(url: str, calls: list[tuple[str, dict[str, Any]]], concurrency: int) -> float:
    """Requests per second sending ``calls`` with ``concurrency`` clients at a time."""
    clients = [httpx.Client(base_url=url, timeout=300) for _ in range(concurrency)]
    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(lambda i: timed_post(clients[i % concurrency], *calls[i]), range(len(calls))))
        return len(calls) / (time.perf_counter() - started)
    finally:
        for client in clients:
            client.close()


def parse_assignments(values: list[str]) -> dict[str, str]:
    env = {}
    for value in values:
        name, sep, setting = value.partition("=")
        if not sep or not name:
            raise SystemExit(f"--b expects VAR=VALUE, got {value!r}")
        env[name] = setting
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--b", action="append", default=[], metavar="VAR=VALUE", help="a setting of arm B")
    parser.add_argument("--rounds", type=int, default=20, help="single requests per endpoint and arm")
    parser.add_argument("--concurrency", type=int, default=4, help="clients at a time for the throughput runs")
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()

    cpus = usable_cpus()
    arm_b = parse_assignments(args.b) or {"TORCH_THREADS": str(cpus)}
    for name in arm_b:
        os.environ.pop(name, None)  # arm A runs on the defaults
    root = models_root()
    bodies = request_bodies()
    per_round = args.rounds * args.concurrency // 2
    rows = []
    with light_services(root, {"A": {}, "B": arm_b}) as urls:
        clients = {arm: httpx.Client(base_url=urls[arm], timeout=300) for arm in ARMS}
        for endpoint, body in bodies.items():
            for _ in range(args.warmup):  # loads, exports, caches
                for arm in ARMS:
                    timed_post(clients[arm], endpoint, body)
            latency: dict[str, list[float]] = {arm: [] for arm in ARMS}
            for _ in range(args.rounds):  # interleaved, so drift hits both alike
                for arm in ARMS:
                    time.sleep(SETTLE_S)  # no threads left spinning by the other arm
                    latency[arm].append(timed_post(clients[arm], endpoint, body))
            calls = [(endpoint, body)] * per_round
            rate = {arm: throughput(urls[arm], calls, args.concurrency) for arm in ARMS}
            rows.append((endpoint, {arm: statistics.median(latency[arm]) for arm in ARMS}, rate))
            print(f"measured {endpoint}", flush=True)
        mixed = list(itertools.islice(itertools.cycle(bodies.items()), per_round))
        rows.append((MIXED, None, {arm: throughput(urls[arm], mixed, args.concurrency) for arm in ARMS}))
        for client in clients.values():
            client.close()

    setting = " ".join(f"{name}={value}" for name, value in arm_b.items())
    print(f"\nA: defaults; B: {setting}; {cpus} usable CPU(s); ratios above 1: A is faster")
    header = (
        f"{'endpoint':<18}{'A p50':>10}{'B p50':>10}{'p50 ratio':>11}{'A req/s':>9}{'B req/s':>9}{'req/s ratio':>13}"
    )
    print(header)
    print("-" * len(header))
    for endpoint, p50, rate in rows:
        latency_cols = (
            f"{p50['A']:>8.1f}ms{p50['B']:>8.1f}ms{p50['B'] / p50['A']:>10.2f}x" if p50 else f"{'':>10}{'':>10}{'':>11}"
        )
        print(f"{endpoint:<18}{latency_cols}{rate['A']:>9.1f}{rate['B']:>9.1f}{rate['A'] / rate['B']:>12.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
