"""End-to-end ``POST /api/analyze``: where a frame's time goes.

In one run, every service in its own process as in production (detector, both
enrichment roles, Florence-2, CLIP, llama-server, backend), on the sample photos:

(a) sequential: one camera, one frame at a time; p50/p95 of every stage and in total;
(b) 4 cameras sending at once (each a closed loop); the same table, and frames per second.

Stage times come from the events themselves (``stages``), so they are what the backend
measured. Enrichment, caption and entities run concurrently: their sum exceeds the
total. Uses the weights under AI_MODELS_PATH when every model is there, else demo
weights in a temporary folder. Run: ``make bench-pipeline``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from ai.demo_feed import sample_frames
from ai.llm.server import running
from ai.llm.settings import LlmSettings
from ai.runtime.catalog import load_catalog
from ai.runtime.families import get_family
from benchmarks.harness import free_port, models_root, percentile, running_service

STAGES = ("detector", "enrichment", "caption", "entities", "risk", "store")


def fleet_models() -> tuple[str, ...]:
    """Every model this build can run that is not optional (what the launcher writes)."""
    return tuple(
        name
        for name, entry in load_catalog().items()
        if get_family(entry.family) is not None and not (entry.model_extra or {}).get("optional")
    )


@contextlib.contextmanager
def fleet(root: Path, data: Path) -> Iterator[str]:
    """Every service on ``root``'s weights; yields the backend's URL."""
    quiet = {"DRIFT_ENABLED": "false", "ACTIVE_LEARNING_ENABLED": "false", "DETECTOR_DATA_DIR": str(data / "det")}
    llm = LlmSettings(AI_MODELS_PATH=str(root), HOST="127.0.0.1", PORT=free_port(), CTX_SIZE=16384)
    with (
        running(llm) as llm_url,
        running_service("ai.detector", root, quiet) as detector,
        running_service("ai.enrichment", root, {"ENRICHMENT_ROLE": "light"}) as light,
        running_service("ai.enrichment", root, {"ENRICHMENT_ROLE": "heavy"}) as heavy,
        running_service("ai.florence", root) as florence,
        running_service("ai.clip", root) as clip,
        running_service(
            "backend",
            root,
            {
                "DETECTOR_URL": detector,
                "ENRICHMENT_LIGHT_URL": light,
                "ENRICHMENT_URL": heavy,
                "FLORENCE_URL": florence,
                "CLIP_URL": clip,
                "LLM_URL": llm_url,
                "DATA_DIR": str(data / "backend"),
            },
        ) as backend,
    ):
        yield backend


async def analyze(client: httpx.AsyncClient, url: str, camera: str, photo: bytes) -> dict[str, Any]:
    response = await client.post(
        f"{url}/api/analyze", files={"file": ("f.jpg", photo, "image/jpeg")}, data={"camera_id": camera}
    )
    response.raise_for_status()
    return response.json()


async def sequential(url: str, frames: list[bytes], rounds: int) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=600) as client:
        events = []
        for i in range(rounds):
            events.append(await analyze(client, url, "bench-seq", frames[i % len(frames)]))
        return events


async def cameras(url: str, frames: list[bytes], seconds: float, count: int = 4) -> tuple[list[dict[str, Any]], float]:
    """``count`` cameras in closed loops for ``seconds``; the events and frames per second."""
    events: list[dict[str, Any]] = []
    stop = time.monotonic() + seconds

    async def camera(n: int) -> None:
        async with httpx.AsyncClient(timeout=600) as client:
            i = n
            while time.monotonic() < stop:
                events.append(await analyze(client, url, f"bench-cam-{n}", frames[i % len(frames)]))
                i += 1

    started = time.monotonic()
    await asyncio.gather(*(camera(n) for n in range(count)))
    return events, len(events) / (time.monotonic() - started)


def table(title: str, events: list[dict[str, Any]]) -> str:
    lines = [f"### {title} ({len(events)} frames)", "", "| stage | p50 ms | p95 ms | share of total p50 |"]
    lines.append("|---|---|---|---|")
    total = [e["total_ms"] + e["stages"]["store"]["latency_ms"] for e in events]
    whole = percentile(total, 0.5)
    for stage in STAGES:
        values = [e["stages"][stage]["latency_ms"] for e in events if e["stages"][stage]["status"] != "skipped"]
        if values:
            p50 = percentile(values, 0.5)
            lines.append(f"| {stage} | {p50:.1f} | {percentile(values, 0.95):.1f} | {p50 / whole:.0%} |")
    lines.append(f"| **total** | {whole:.1f} | {percentile(total, 0.95):.1f} | |")
    tokens = [e["risk"]["prompt_tokens"] for e in events if e.get("risk")]
    if tokens:
        lines.append(
            f"\nLLM prompt tokens p50 {percentile(tokens, 0.5):.0f}; detections per frame p50 "
            f"{percentile([len(e['detections']) for e in events], 0.5):.0f}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="sequential frames")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the 4-camera run")
    args = parser.parse_args()
    root = models_root(fleet_models())
    frames = [path.read_bytes() for _camera, path in sample_frames()[:3]]
    data = Path(root) / "bench-data"
    with fleet(root, data) as url:
        asyncio.run(sequential(url, frames, 3))  # warm-up: first loads, ONNX exports
        seq = asyncio.run(sequential(url, frames, args.rounds))
        parallel, rate = asyncio.run(cameras(url, frames, args.seconds))
    seq_rate = len(seq) / (sum(e["total_ms"] + e["stages"]["store"]["latency_ms"] for e in seq) / 1000.0)
    print(table("Sequential, one camera", seq))
    print()
    print(table("4 cameras at once", parallel))
    print(f"\nframes per second: sequential {seq_rate:.2f}, 4 cameras {rate:.2f} ({rate / seq_rate:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
