"""Request batching in the light enrichment service, side by side in one run.

Starts ``python -m ai.enrichment`` (light role) three times on the same weights:
``on`` (re-ID, pet and threat batch up to 8 inputs), ``off`` (their batch size 1) and
``defaults`` (the catalog's own choice for this device). Only one is busy at a time.

1. **Lone requests**: sequential single requests, interleaved on/off after an idle
   pause: p50 of each. Batching must cost a lone request nothing (target: within 5%).
2. **8 concurrent clients** per model, closed loop for ``--seconds`` per arm, arms
   alternated: requests per second and p95 (target: on never slower than off).
3. **A frame of 4 people**: one ``/enrich`` with the 4 detections against 4 single-
   detection ``/enrich`` calls one after another, on the defaults (target: <= 0.6x).

Run: ``make bench-batching`` or ``python -m benchmarks.batching [--rounds N] [--seconds S]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

import httpx

from ai.contracts.enrichment_catalog import enrichment_entries
from ai.runtime.device import select_device
from benchmarks.harness import SETTLE_S, light_services, models_root, percentile, photo_body

BATCHED = {"/person-reid": "person_reid", "/pet-classify": "pet_classifier", "/threat-detect": "threat_detector"}
PEOPLE = [[50, 200, 300, 900], [200, 220, 450, 880], [620, 230, 810, 880], [0, 500, 240, 1000]]
CLIENTS = 8
LONE_TARGET, FRAME_TARGET = 1.05, 0.6


def arm_env(batch_size: int) -> dict[str, str]:
    entries = enrichment_entries()
    return {f"{entries[model].env_key}_MAX_BATCH_SIZE": str(batch_size) for model in BATCHED.values()}


def post(client: httpx.Client, path: str, content: bytes) -> float:
    started = time.perf_counter()
    client.post(path, content=content, headers={"content-type": "application/json"}).raise_for_status()
    return (time.perf_counter() - started) * 1000.0


async def closed_loop(url: str, path: str, content: bytes, seconds: float) -> tuple[float, list[float]]:
    """``CLIENTS`` clients each sending the next request as soon as the last answered."""
    latencies: list[float] = []
    headers = {"content-type": "application/json"}
    limits = httpx.Limits(max_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as client:
        deadline = time.perf_counter() + seconds

        async def one_client() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                (await client.post(path, content=content, headers=headers)).raise_for_status()
                latencies.append((time.perf_counter() - started) * 1000.0)

        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(CLIENTS)))
        return len(latencies) / (time.perf_counter() - started), latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30, help="timed calls per path for lone and frame rows")
    parser.add_argument("--seconds", type=float, default=6.0, help="closed-loop seconds per arm and repetition")
    parser.add_argument("--repeats", type=int, default=2, help="alternations of on/off in the concurrent rows")
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()

    root = models_root()
    arms = {"on": arm_env(8), "off": arm_env(1), "defaults": {}}
    body = json.dumps(photo_body()).encode()
    frame = photo_body(
        detections=[{"detection_id": f"p{i}", "detection_type": "person", "bbox": b} for i, b in enumerate(PEOPLE)]
    )
    frame.pop("bbox")
    singles = [
        json.dumps(photo_body(bbox=b, detection_type="person", detection_id=f"p{i}")).encode()
        for i, b in enumerate(PEOPLE)
    ]
    frame_body = json.dumps(frame).encode()
    lone: dict[str, dict[str, list[float]]] = {}
    loaded: dict[str, dict[str, list[tuple[float, list[float]]]]] = {}
    frame_ms: dict[str, list[float]] = {"frame": [], "singles": []}
    with light_services(root, arms) as urls:
        clients = {arm: httpx.Client(base_url=url, timeout=300) for arm, url in urls.items()}
        for path in BATCHED:
            for _ in range(args.warmup):
                for arm in arms:
                    post(clients[arm], path, body)
            lone[path] = {"on": [], "off": []}
            for _ in range(args.rounds):
                for arm in ("on", "off"):
                    time.sleep(SETTLE_S)
                    lone[path][arm].append(post(clients[arm], path, body))
            loaded[path] = {"on": [], "off": []}
            for _ in range(args.repeats):
                for arm in ("on", "off"):
                    time.sleep(SETTLE_S * 5)
                    loaded[path][arm].append(asyncio.run(closed_loop(urls[arm], path, body, args.seconds)))
            print(f"measured {path}", flush=True)
        defaults = clients["defaults"]
        for _ in range(args.warmup):
            post(defaults, "/enrich", frame_body)
        for _ in range(args.rounds):
            time.sleep(SETTLE_S)
            frame_ms["frame"].append(post(defaults, "/enrich", frame_body))
            time.sleep(SETTLE_S)
            frame_ms["singles"].append(sum(post(defaults, "/enrich", single) for single in singles))
        for client in clients.values():
            client.close()

    print(f"\nlight service, {select_device('auto').name}; on: batch <= 8 for re-ID, pet, threat; off: batch 1")
    print(f"\nLone sequential requests (p50; target on/off <= {LONE_TARGET:.2f}x)")
    header = f"{'endpoint':<16}{'on p50':>10}{'off p50':>10}{'on/off':>9}"
    print(header + "\n" + "-" * len(header))
    for path, times in lone.items():
        on, off = statistics.median(times["on"]), statistics.median(times["off"])
        print(f"{path:<16}{on:>8.1f}ms{off:>8.1f}ms{on / off:>8.2f}x  {'ok' if on / off <= LONE_TARGET else 'OVER'}")

    print(f"\n{CLIENTS} concurrent clients, closed loop ({args.repeats} x {args.seconds:.0f} s per arm)")
    header = f"{'endpoint':<16}{'on req/s':>10}{'off req/s':>11}{'gain':>8}{'on p95':>10}{'off p95':>10}"
    print(header + "\n" + "-" * len(header))
    for path, runs in loaded.items():
        rate = {arm: statistics.mean(r for r, _ in runs[arm]) for arm in runs}
        p95 = {arm: percentile([ms for _, lat in runs[arm] for ms in lat], 0.95) for arm in runs}
        gain = rate["on"] / rate["off"]
        print(
            f"{path:<16}{rate['on']:>10.1f}{rate['off']:>11.1f}{gain:>7.2f}x"
            f"{p95['on']:>8.0f}ms{p95['off']:>8.0f}ms  {'ok' if gain >= 0.97 else 'SLOWER'}"
        )

    one, four = statistics.median(frame_ms["frame"]), statistics.median(frame_ms["singles"])
    print(f"\nA frame of 4 people on the defaults (p50 of {args.rounds}; target <= {FRAME_TARGET:.1f}x)")
    print(f"one /enrich with 4 detections {one:.0f} ms; 4 single /enrich {four:.0f} ms; ratio {one / four:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
