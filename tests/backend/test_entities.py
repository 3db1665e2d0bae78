"""Entity matching rules on hand-made vectors: a close crop on the same camera is the
same entity; another camera needs the stricter threshold; one entity per frame; the
window forgets; the entity's embedding follows its crops."""

from __future__ import annotations

import numpy as np
import pytest

from backend.pipeline.entities import Crop, EntityIndex, normalised

NOW = 1_800_000_000.0


def vector(*values: float) -> np.ndarray:
    return normalised(np.array(values, dtype=np.float32))


def index() -> EntityIndex:
    return EntityIndex(same_camera=0.9, cross_camera=0.95, window_s=3600)


def at(similarity: float) -> np.ndarray:
    """A unit vector at ``similarity`` cosine from (1, 0, 0)."""
    return vector(similarity, float(np.sqrt(1 - similarity**2)), 0.0)


def test_the_first_sighting_is_a_new_entity() -> None:
    [match] = index().match([Crop("d0", "person", vector(1, 0, 0))], "front", NOW)
    assert match.new and match.similarity == 1.0 and match.sightings_before == 0
    assert match.entity.id.startswith("ent_") and match.entity.cameras == {"front"}


def test_the_same_crop_on_two_cameras_is_one_entity_and_a_different_one_is_not() -> None:
    entities = index()
    [first] = entities.match([Crop("d0", "person", vector(1, 0, 0))], "front", NOW)
    [again] = entities.match([Crop("d0", "person", vector(1, 0, 0))], "garage", NOW + 5)
    [other] = entities.match([Crop("d0", "person", vector(0, 1, 0))], "garage", NOW + 10)
    assert again.entity.id == first.entity.id and not again.new
    assert again.cameras_before == ("front",) and again.last_seen_before == NOW
    assert other.new and other.entity.id != first.entity.id
    assert first.entity.cameras == {"front", "garage"} and first.entity.sighting_count == 2


@pytest.mark.parametrize(("similarity", "camera", "same"), [(0.92, "front", True), (0.92, "garage", False)])
def test_another_camera_needs_the_stricter_threshold(similarity: float, camera: str, same: bool) -> None:
    entities = index()
    [first] = entities.match([Crop("d0", "person", vector(1, 0, 0))], "front", NOW)
    [second] = entities.match([Crop("d0", "person", at(similarity))], camera, NOW + 1)
    assert (second.entity.id == first.entity.id) is same


def test_kinds_never_match_each_other() -> None:
    entities = index()
    entities.match([Crop("d0", "person", vector(1, 0, 0))], "front", NOW)
    [car] = entities.match([Crop("d0", "vehicle", vector(1, 0, 0))], "front", NOW + 1)
    assert car.new


def test_two_crops_of_one_frame_never_share_an_entity_and_the_closer_wins() -> None:
    entities = index()
    [known] = entities.match([Crop("d0", "person", vector(1, 0, 0))], "front", NOW)
    near, nearer = at(0.95), at(0.99)
    matches = entities.match([Crop("a", "person", near), Crop("b", "person", nearer)], "front", NOW + 1)
    assert [m.detection_id for m in matches] == ["a", "b"]
    assert matches[1].entity.id == known.entity.id and matches[0].new


def test_an_entity_not_seen_within_the_window_is_forgotten() -> None:
    entities = index()
    [first] = entities.match([Crop("d0", "person", vector(1, 0, 0))], "front", NOW)
    [later] = entities.match([Crop("d0", "person", vector(1, 0, 0))], "front", NOW + 3601)
    assert later.new and later.entity.id != first.entity.id
    assert first.entity.id not in entities.entities


def test_the_embedding_moves_towards_new_crops_and_stays_unit_length() -> None:
    entities = index()
    [first] = entities.match([Crop("d0", "person", vector(1, 0, 0))], "front", NOW)
    entities.match([Crop("d0", "person", at(0.95))], "front", NOW + 1)
    moved = first.entity.vector
    assert float(np.linalg.norm(moved)) == pytest.approx(1.0, abs=1e-5)
    assert 0.95 < float(moved @ vector(1, 0, 0)) < 1.0


def test_entities_of_another_embedding_size_never_match_and_never_fail() -> None:
    """After a CLIP model change, reloaded entities have the old size."""
    entities = index()
    [old] = entities.match([Crop("d0", "person", vector(1, 0, 0))], "front", NOW)
    [new] = entities.match([Crop("d0", "person", vector(1, 0, 0, 0))], "front", NOW + 1)
    assert new.new and new.entity.id != old.entity.id
