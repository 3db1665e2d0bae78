"""The risk prompt: a frame's detections, each detection's enrichment text, the scene
caption and the history of the entities seen, as chat messages. Pure and deterministic
(same frame, same prompt), so it is tested on hand-made inputs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ai.contracts.risk import RISK_BANDS

SYSTEM = (
    "You are the risk analyst of a home-security camera system. From one camera frame's "
    "detections, their enrichment (weapons, posture, vehicles, animals, distance, ...), a scene "
    "caption and the history of the people and vehicles seen before, judge how much the home "
    "owner should worry. Weapons, forced entry, hiding, a person lying down and strangers at "
    "night raise the risk; residents, known vehicles, pets and deliveries in daylight lower it. "
    "Answer with one JSON object and nothing else: risk_score (integer 0-100), risk_level ("
    + ", ".join(f"{level} {low}-{high}" for level, (low, high) in RISK_BANDS.items())
    + "; the level must match the score), reasoning (one or two sentences) and factors (short "
    "phrases, at most 8)."
)


@dataclass(frozen=True)
class SeenObject:
    """One detection of the frame, as the prompt lists it."""

    detection_id: str
    label: str
    confidence: float
    box: tuple[float, float, float, float]  # x, y, width, height in pixels


@dataclass(frozen=True)
class EntityNote:
    """What the entity store knows of the entity a detection matched."""

    detection_id: str
    entity_id: str
    kind: str
    new: bool
    sightings: int  # before this frame
    cameras: tuple[str, ...]
    last_seen: float | None  # unix seconds of the previous sighting
    similarity: float


@dataclass(frozen=True)
class FrameFacts:
    camera_id: str
    timestamp: float
    image_size: tuple[int, int]
    objects: Sequence[SeenObject]
    enrichment: Sequence[str]  # each detection's context block
    caption: str | None
    entities: Sequence[EntityNote]
    missing: Sequence[str]  # stages that did not answer
    others: Mapping[str, int] = field(default_factory=dict)  # labels of detections not listed, counted


def is_night(timestamp: float) -> bool:
    """22:00-06:00 UTC: what the specification's night rules (clothing, damage) mean."""
    hour = datetime.fromtimestamp(timestamp, UTC).hour
    return hour >= 22 or hour < 6


def _when(timestamp: float) -> str:
    moment = datetime.fromtimestamp(timestamp, UTC)
    part = "night" if is_night(timestamp) else "day"
    return f"{moment.strftime('%Y-%m-%d %H:%M:%S')} UTC ({part})"


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} days ago"


def _entity_line(note: EntityNote, now: float) -> str:
    if note.new:
        return f"- {note.detection_id}: a {note.kind} not seen before (new entity {note.entity_id})"
    where = ", ".join(note.cameras) or "unknown cameras"
    last = f", last {_ago(max(0.0, now - note.last_seen))}" if note.last_seen is not None else ""
    return (
        f"- {note.detection_id}: {note.kind} {note.entity_id} seen {note.sightings} time(s) before "
        f"on {where}{last} (similarity {note.similarity:.2f})"
    )


def frame_prompt(facts: FrameFacts) -> str:
    width, height = facts.image_size
    lines = [f"Camera: {facts.camera_id}", f"Time: {_when(facts.timestamp)}", f"Frame: {width}x{height} pixels", ""]
    if facts.objects:
        lines.append(f"Detections ({len(facts.objects) + sum(facts.others.values())}):")
        for o in facts.objects:
            x, y, w, h = o.box
            where = f"x={x:.0f} y={y:.0f} size {w:.0f}x{h:.0f}"
            lines.append(f"- {o.detection_id}: {o.label} {o.confidence:.0%} at {where}")
        if facts.others:
            rest = ", ".join(f"{label} x{count}" for label, count in sorted(facts.others.items()))
            lines.append(f"- and, less confident: {rest}")
    else:
        lines.append("Detections: none")
    if facts.caption:
        lines += ["", f"Scene caption: {facts.caption}"]
    if facts.enrichment:
        lines += ["", *facts.enrichment]
    if facts.entities:
        lines += ["", "Entity history:", *(_entity_line(n, facts.timestamp) for n in facts.entities)]
    if facts.missing:
        lines += ["", f"Not available for this frame: {', '.join(facts.missing)}"]
    return "\n".join(lines)


def risk_messages(facts: FrameFacts) -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": frame_prompt(facts)}]


def repair_messages(messages: list[dict[str, str]], answer: str, problem: str) -> list[dict[str, str]]:
    """The conversation once more, with the refused answer and what was wrong with it."""
    return [
        *messages,
        {"role": "assistant", "content": answer[:4000]},
        {
            "role": "user",
            "content": f"That answer was not usable: {problem[:500]}. Answer again with only the JSON object "
            "(risk_score, risk_level, reasoning, factors), the level matching the score.",
        },
    ]
