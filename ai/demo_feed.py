"""Feed sample photos through the backend's ``POST /api/analyze`` as if cameras sent
them, and print the stored events as a short table: what ``make run`` shows once the
fleet is up. The photos ship with the repository and with Ultralytics; the same photo
sent by a second camera shows an entity seen before."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


def say(line: str) -> None:
    """One whole line in one write: the launcher's threads print services' logs at the
    same time, and print() writes the text and its newline separately."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def sample_frames() -> list[tuple[str, Path]]:
    """(camera, photo) in the order they are sent."""
    frames = [("front-door", ROOT / "docs" / "sample.jpg")]
    spec = importlib.util.find_spec("ultralytics")
    if spec is not None and spec.submodule_search_locations:
        assets = Path(spec.submodule_search_locations[0]) / "assets"
        frames += [("driveway", assets / "zidane.jpg"), ("street", assets / "bus.jpg")]
    frames.append(("garden", ROOT / "docs" / "sample.jpg"))
    return [(camera, path) for camera, path in frames if path.is_file()]


def _cell(text: Any, width: int) -> str:
    value = "-" if text is None else str(text)
    return value if len(value) <= width else value[: width - 1] + "…"


def event_row(event: dict[str, Any]) -> str:
    entities = event.get("entities", [])
    new = sum(1 for e in entities if e["new"])
    known = f"{new} new, {len(entities) - new} seen before" if entities else "-"
    risk = f"{event['risk_score']} {event['risk_level']}" if event.get("risk_score") is not None else "failed"
    status = event["status"] + (f" (no {', '.join(event['missing'])})" if event.get("missing") else "")
    columns = [
        _cell(event["camera_id"], 10),
        _cell(len(event.get("detections", [])), 4),
        _cell(known, 22),
        _cell(risk, 12),
        _cell(status, 28),
        _cell(f"{event['total_ms']:.0f}", 6),
        _cell(event.get("caption"), 40),
    ]
    return " | ".join(c.ljust(w) for c, w in zip(columns, WIDTHS, strict=True)).rstrip()


WIDTHS = (10, 4, 22, 12, 28, 6, 40)
HEADER = " | ".join(
    h.ljust(w) for h, w in zip(("camera", "dets", "entities", "risk", "status", "ms", "caption"), WIDTHS, strict=True)
).rstrip()


def feed(backend_url: str, api_key: str | None = None, timeout_s: float = 600.0) -> list[dict[str, Any]]:
    """Every sample frame through ``/api/analyze``, one after another; the table printed.
    ``api_key``: an infer key, when the backend requires keys."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    events = []
    say(f"[demo] analysing {len(sample_frames())} sample frames through {backend_url}/api/analyze")
    say(HEADER + "\n" + "-" * len(HEADER))
    for camera, photo in sample_frames():
        response = httpx.post(
            f"{backend_url}/api/analyze",
            files={"file": (photo.name, photo.read_bytes(), "image/jpeg")},
            data={"camera_id": camera},
            headers=headers,
            timeout=timeout_s,
        )
        response.raise_for_status()
        event = response.json()
        events.append(event)
        say(event_row(event))
    if events:
        last = events[-1]
        say(f"\n[demo] one event in full: curl -s {backend_url}/api/events/{last['id']}")
        if last["entities"]:
            say(f"[demo] its first entity: curl -s {backend_url}/api/entities/{last['entities'][0]['entity_id']}")
        say(f"[demo] every event: curl -s '{backend_url}/api/events?limit=20'")
    return events
