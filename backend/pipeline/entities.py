"""Entities: the people and vehicles the cameras have seen, matched by the cosine
similarity of CLIP embeddings of their crops. Pure and in memory (the event store
persists them and reloads the recent ones at start-up), so the rules are tested on
hand-made vectors.

Rules:
- A crop is compared with the entities of its kind seen within the window.
- A camera that saw the entity before matches at ``same_camera`` (the same viewpoint
  gives close embeddings); another camera must reach the stricter ``cross_camera``.
- Within one frame an entity is matched at most once (two people in one frame are two
  people), best similarity first.
- No match makes a new entity. A match moves the entity's embedding towards the crop:
  a mean weighted as if over at most ``MEAN_OVER`` sightings, renormalised, so an old
  entity still follows a changed view.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

# Detector labels whose crops become entities, and the kind each is matched as.
ENTITY_KINDS = {
    "person": "person",
    **{label: "vehicle" for label in ("car", "truck", "bus", "motorcycle", "bicycle")},
}
MEAN_OVER = 10


def new_entity_id() -> str:
    return f"ent_{uuid.uuid4().hex[:16]}"


@dataclass
class Entity:
    id: str
    kind: str
    vector: np.ndarray  # L2-normalised
    first_seen: float
    last_seen: float
    sighting_count: int
    cameras: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Crop:
    """One detection's crop to match."""

    detection_id: str
    kind: str
    vector: np.ndarray


@dataclass(frozen=True)
class Match:
    """What matching decided for one crop; ``before`` is the entity as it was."""

    detection_id: str
    entity: Entity
    new: bool
    similarity: float
    sightings_before: int
    cameras_before: tuple[str, ...]
    last_seen_before: float | None


def normalised(values: Sequence[float] | np.ndarray) -> np.ndarray:
    vector = np.asarray(values, dtype=np.float32)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


class EntityIndex:
    def __init__(self, same_camera: float, cross_camera: float, window_s: float) -> None:
        self.same_camera = same_camera
        self.cross_camera = cross_camera
        self.window_s = window_s
        self.entities: dict[str, Entity] = {}

    def add(self, entities: Iterable[Entity]) -> None:
        for entity in entities:
            self.entities[entity.id] = entity

    def forget_before(self, cutoff: float) -> None:
        """Entities last seen before ``cutoff`` can no longer match; drop them."""
        self.entities = {k: e for k, e in self.entities.items() if e.last_seen >= cutoff}

    def match(self, crops: Sequence[Crop], camera_id: str, now: float) -> list[Match]:
        """One match per crop, in the order given; updates the index. Crops are compared
        only with entities of their kind and embedding size (another CLIP model's
        entities, reloaded from before a model change, never match and never fail)."""
        self.forget_before(now - self.window_s)
        pairs: list[tuple[float, int, str]] = []
        groups: dict[tuple[str, int], list[Entity]] = {}
        for entity in self.entities.values():
            groups.setdefault((entity.kind, entity.vector.shape[0]), []).append(entity)
        for i, crop in enumerate(crops):
            group = groups.get((crop.kind, crop.vector.shape[0]), [])
            if not group:
                continue
            scores = np.stack([e.vector for e in group]) @ crop.vector
            thresholds = np.array([self.same_camera if camera_id in e.cameras else self.cross_camera for e in group])
            for j in np.flatnonzero(scores >= thresholds):
                pairs.append((float(scores[j]), i, group[j].id))
        chosen: dict[int, tuple[str, float]] = {}
        taken: set[str] = set()
        for score, i, entity_id in sorted(pairs, reverse=True):
            if i not in chosen and entity_id not in taken:
                chosen[i] = (entity_id, score)
                taken.add(entity_id)
        matches = []
        for i, crop in enumerate(crops):
            if i in chosen:
                entity_id, score = chosen[i]
                matches.append(self._seen_again(self.entities[entity_id], crop, camera_id, now, score))
            else:
                matches.append(self._first_seen(crop, camera_id, now))
        return matches

    def _seen_again(self, entity: Entity, crop: Crop, camera_id: str, now: float, score: float) -> Match:
        match = Match(
            crop.detection_id,
            entity,
            False,
            round(score, 4),
            entity.sighting_count,
            tuple(sorted(entity.cameras)),
            entity.last_seen,
        )
        weight = min(entity.sighting_count, MEAN_OVER - 1)
        entity.vector = normalised(entity.vector * weight + crop.vector)
        entity.sighting_count += 1
        entity.last_seen = max(entity.last_seen, now)
        entity.cameras.add(camera_id)
        return match

    def _first_seen(self, crop: Crop, camera_id: str, now: float) -> Match:
        entity = Entity(new_entity_id(), crop.kind, crop.vector, now, now, 1, {camera_id})
        self.entities[entity.id] = entity
        return Match(crop.detection_id, entity, True, 1.0, 0, (), None)
