"""SQLite storage, the bucket maths, the merge of two answers, and the context text."""

from __future__ import annotations

from pathlib import Path

import pytest

from ai.contracts.enrichment import (
    AgeClassificationResult,
    DemographicsResult,
    EnrichResponse,
    GenderClassificationResult,
    ModelError,
    PoseResult,
    ThreatDetectionResult,
)
from backend.enrichment_client.context import render_context
from backend.enrichment_client.errors import EnrichmentCallError
from backend.enrichment_client.merge import merge
from backend.enrichment_client.routing import Router
from backend.storage.history import bucketize, percentile, window_start
from backend.storage.latency import LatencySample, LatencyStore

ROUTER = Router.from_environment({"light": "http://light", "heavy": "http://heavy"})


def test_sqlite_store_round_trip_and_prune(tmp_path: Path) -> None:
    store = LatencyStore(f"sqlite:///{tmp_path / 'nested' / 'backend.db'}")
    store.create()
    store.add(
        [
            LatencySample("m", "light", "/enrich", 12.5, True, 100.0),
            LatencySample("m", "light", "/enrich", 99.0, False, 101.0),
            LatencySample("m", "light", "/enrich", 7.5, True, 200.0),
        ]
    )
    assert store.successes_since("m", 0.0) == [(100.0, 12.5), (200.0, 7.5)]
    assert store.successes_since("m", 150.0) == [(200.0, 7.5)]
    assert store.prune(150.0) == 2
    assert store.successes_since("m", 0.0) == [(200.0, 7.5)]
    store.close()


def test_percentiles_interpolate_between_ranks() -> None:
    values = [10.0, 20.0, 30.0, 40.0]
    assert percentile(values, 0.5) == 25.0
    assert percentile(values, 0.95) == pytest.approx(38.5)
    assert percentile([7.0], 0.95) == 7.0


def test_buckets_cover_the_window_and_drop_outsiders() -> None:
    now = 1000.0
    assert window_start(now, 1, 60) == 900.0
    snapshots = bucketize([(899.0, 1.0), (900.0, 2.0), (959.9, 4.0), (1000.0, 8.0)], now, 1, 60)
    assert [s.timestamp.timestamp() for s in snapshots] == [900.0, 960.0]
    assert snapshots[0].stats is not None and snapshots[0].stats.sample_count == 2
    assert snapshots[0].stats.avg_ms == 3.0
    assert snapshots[1].stats is not None and snapshots[1].stats.sample_count == 1


def _light_answer(**fields: object) -> EnrichResponse:
    return EnrichResponse(detection_type="person", inference_time_ms=5.0, **fields)


def test_merge_full_when_every_routed_model_ran() -> None:
    plan = {"light": ["threat_detector", "pose_estimator"], "heavy": ["age_classifier", "gender_classifier"]}
    light = _light_answer(
        threat=ThreatDetectionResult(threat_type="none", confidence=0.0, severity="low"),
        pose=PoseResult(keypoints=[], posture="unknown", alerts=[]),
        models_used=["threat_detector", "pose_estimator"],
    )
    heavy = _light_answer(
        demographics=DemographicsResult(
            age=AgeClassificationResult(age_range="25-35", confidence=0.6, raw_prediction=30.0),
            gender=GenderClassificationResult(gender="female", confidence=0.9),
        ),
        models_used=["age_classifier", "gender_classifier", "face_detector"],
    )
    result = merge("d9", "person", plan, {"light": light, "heavy": heavy}, {"light": 5.0, "heavy": 9.0}, ROUTER)
    assert result.status == "FULL" and result.errors == {}
    assert result.age_classifications["d9"].age_range == "25-35"
    assert result.gender_classifications["d9"].gender == "female"
    assert result.threat_detection is not None and result.pose is not None
    assert result.services["heavy"].latency_ms == 9.0


def test_merge_partial_and_failed() -> None:
    plan = {"light": ["pose_estimator"], "heavy": ["vehicle_classifier"]}
    down = EnrichmentCallError("heavy", "SERVICE_UNREACHABLE", "connection refused")
    light = _light_answer(pose=PoseResult(keypoints=[], posture="unknown", alerts=[]), models_used=["pose_estimator"])
    partial = merge("d", "person", plan, {"light": light, "heavy": down}, {}, ROUTER)
    assert partial.status == "PARTIAL"
    assert partial.errors["vehicle_classifier"].code == "SERVICE_UNREACHABLE"
    broken = _light_answer(errors={"pose_estimator": ModelError(code="MODEL_LOAD_FAILED", message="corrupt")})
    failed = merge("d", "person", plan, {"light": broken, "heavy": down}, {}, ROUTER)
    assert failed.status == "FAILED" and failed.errors["pose_estimator"].service == "light"
    assert merge("d", "object", {}, {}, {}, ROUTER).status == "SKIPPED", "nothing planned: nothing ran"


def test_merge_flags_a_routing_mismatch_and_counts_skipped_models_as_done() -> None:
    plan = {"heavy": ["age_classifier", "gender_classifier", "vehicle_classifier"]}
    heavy = _light_answer(
        models_used=["face_detector"], skipped={"age_classifier": "no face", "gender_classifier": "no face"}
    )
    result = merge("d", "person", plan, {"heavy": heavy}, {}, ROUTER)
    assert result.errors["vehicle_classifier"].code == "MODEL_NOT_HOSTED"
    assert "ENRICHMENT_VEHICLE_SERVICE" in result.errors["vehicle_classifier"].message
    assert "age_classifier" not in result.errors
    assert result.status == "PARTIAL"


def test_context_is_deterministic_and_says_what_matters() -> None:
    plan = {"light": ["threat_detector", "pose_estimator"]}
    light = _light_answer(
        threat=ThreatDetectionResult(threat_type="gun", confidence=0.871, severity="critical", bbox=[1, 2, 3, 4]),
        pose=PoseResult(keypoints=[], posture="lying_down", alerts=["lying_down"]),
        models_used=["threat_detector", "pose_estimator"],
    )
    first = merge("d1", "person", plan, {"light": light}, {}, ROUTER)
    second = merge("d1", "person", plan, {"light": light.model_copy()}, {}, ROUTER)
    text = render_context(first)
    assert text == render_context(second)
    assert text.splitlines() == [
        "Enrichment of person d1 (FULL):",
        "- Weapon: gun (87%), severity critical",
        "  **THREAT ALERT**: treat as an armed person",
        "- Posture: lying down; alerts: lying down",
    ]
    assert render_context(merge("d2", "object", {}, {}, {}, ROUTER)).endswith("No enrichment ran for this detection")


def test_vitpose_answers_the_pose_when_both_roles_ran_one() -> None:
    plan = {"light": ["pose_estimator"], "heavy": ["vitpose"]}
    yolo = _light_answer(pose=PoseResult(keypoints=[], posture="standing", alerts=[]), models_used=["pose_estimator"])
    vit = _light_answer(
        pose=PoseResult(keypoints=[], posture="crouching", alerts=["crouching"], model="vitpose"),
        models_used=["vitpose"],
    )
    result = merge("d", "person", plan, {"light": yolo, "heavy": vit}, {}, ROUTER)
    assert result.pose is not None and (result.pose.model, result.pose.posture) == ("vitpose", "crouching")


def test_context_says_the_detail_enrichments() -> None:
    from ai.contracts.enrichment_detail import (
        ActionResult,
        ClothingResult,
        DamageItem,
        LabelScore,
        PlateRead,
        PlateResult,
    )
    from ai.enrichment.damage_rules import damage_result

    heavy = _light_answer(
        clothing=ClothingResult(
            clothing_type="hoodie",
            color="black",
            colors=["black"],
            style="concealing",
            confidence=0.7,
            top_labels=[LabelScore(label="hoodie", score=0.7)],
            is_suspicious=True,
            suspicious_reasons=["face covering"],
            is_service_uniform=False,
        ),
        action=ActionResult(action="loitering", confidence=0.61, scores=[], is_suspicious=True, frames_used=8),
        vehicle_damage=damage_result(
            [DamageItem(damage_type="glass_shatter", confidence=0.9, bbox=[0, 0, 1, 1], mask_area=3)], is_night=True
        ),
        plates=PlateResult(plates=[PlateRead(text="KX51 ABC", confidence=0.95, bbox=[0, 0, 1, 1])]),
        models_used=["clothing_classifier", "action_recognizer", "vehicle_damage", "plate_ocr"],
    )
    plan = {"heavy": ["clothing_classifier", "action_recognizer", "vehicle_damage", "plate_ocr"]}
    text = render_context(merge("d", "person", plan, {"heavy": heavy}, {}, ROUTER)).splitlines()
    assert text[1:] == [
        "- Clothing: black hoodie (70%), concealing",
        "  **SUSPICIOUS ATTIRE**: face covering",
        "- Action over 8 frames: loitering (61%) **SUSPICIOUS ACTION**",
        "- Vehicle damage: glass shatter (risk critical); damage at night",
        "- Licence plate: KX51 ABC (95%)",
    ]
