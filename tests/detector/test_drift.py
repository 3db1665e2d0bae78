"""Drift monitoring on frames made from real photographs: a darker stream, a different
class mix and a new resolution drift; a fresh sample of the same stream and constant
features do not; references survive restarts; checks never run on the caller."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageEnhance

from ai.contracts.images import Box
from ai.detector.drift import DriftConfig, DriftMonitor, NotEnoughFrames, UnknownVersion
from ai.detector.drift_features import FrameFeatures, frame_features
from ai.detector.drift_stats import compare_numeric, numeric_psi
from ai.runtime.errors import StartupError
from ai.runtime.families.tasks import Detection
from tests.support.images import real_photo

MIXES = {"people": {"person": 0.8, "car": 0.15, "dog": 0.05}, "cars": {"person": 0.15, "car": 0.8, "dog": 0.05}}
CLASS_IDS = {"person": 0, "car": 2, "dog": 16}
CAMERAS = {"bus.jpg": (240, 320), "zidane.jpg": (320, 180)}  # each photo is one camera with its own size
WAIT = 10.0  # seconds: generous bound for the background thread, never a sleep


@cache
def photo(name: str) -> Image.Image:
    """The photo at 1/0.75 of its camera's size, so a 75% crop still fills a frame."""
    width, height = CAMERAS[name]
    return Image.open(real_photo(name)).convert("RGB").resize((round(width / 0.75), round(height / 0.75)))


def camera_frame(rng: np.random.Generator, darken: float = 1.0, size: tuple[int, int] | None = None) -> Image.Image:
    """A random crop of one of the photos, slightly brighter or darker, at its camera's size."""
    name = list(CAMERAS)[rng.integers(len(CAMERAS))]
    source = photo(name)
    scale = rng.uniform(0.75, 1.0)
    crop_w, crop_h = round(source.width * scale), round(source.height * scale)
    x, y = rng.integers(0, source.width - crop_w + 1), rng.integers(0, source.height - crop_h + 1)
    frame = source.crop((x, y, x + crop_w, y + crop_h)).resize(size or CAMERAS[name], Image.Resampling.BILINEAR)
    return ImageEnhance.Brightness(frame).enhance(rng.uniform(0.9, 1.1) * darken)


def detections(rng: np.random.Generator, mix: str | None) -> list[Detection]:
    """About three detections of the named class mix (none for None), confidences ~0.7."""
    if mix is None:
        return []
    shares = MIXES[mix]
    labels = rng.choice(list(shares), size=rng.poisson(3), p=list(shares.values()))
    return [Detection(str(label), CLASS_IDS[label], float(rng.beta(5, 2)), Box(0, 0, 10, 10)) for label in labels]


@cache
def stream(
    seed: int,
    frames: int = 200,
    *,
    darken: float = 1.0,
    mix: str | None = "people",
    size: tuple[int, int] | None = None,
) -> tuple[FrameFeatures, ...]:
    """Features of ``frames`` frames of one camera stream; the seed picks the random draws."""
    rng = np.random.default_rng(seed)
    return tuple(frame_features(camera_frame(rng, darken, size), detections(rng, mix)) for _ in range(frames))


class DriftCalls:
    """on_drift: records the version and the thread each call came from."""

    def __init__(self) -> None:
        self.versions: list[str] = []
        self.threads: list[threading.Thread] = []
        self.called = threading.Event()

    def __call__(self, version: str) -> None:
        self.versions.append(version)
        self.threads.append(threading.current_thread())
        self.called.set()


@pytest.fixture
def config(tmp_path: Path) -> DriftConfig:
    return DriftConfig(tmp_path / "drift" / "reference.json", window_size=200, min_samples=100, check_every=50)


@pytest.fixture
def calls() -> DriftCalls:
    return DriftCalls()


@pytest.fixture
def monitor(config: DriftConfig, calls: DriftCalls) -> Iterator[DriftMonitor]:
    with DriftMonitor(config, ["v1", "v2"], calls) as running:
        yield running


def observe_all(monitor: DriftMonitor, frames: Sequence[FrameFeatures], version: str = "v1") -> None:
    for features in frames:
        monitor.observe(version, features)


def with_reference(monitor: DriftMonitor, frames: Sequence[FrameFeatures], version: str = "v1") -> None:
    observe_all(monitor, frames, version)
    monitor.update_reference(version)


def test_frame_features_measure_the_whole_frames_luma_from_a_small_sample() -> None:
    image = Image.open(real_photo("bus.jpg")).convert("RGB")
    found = [Detection("person", 0, 0.9, Box(50, 200, 300, 900)), Detection("bus", 5, 0.8, Box(0, 200, 800, 800))]
    features = frame_features(image, found)
    luma = np.asarray(image.convert("L"), dtype=np.float64)
    assert abs(features.brightness - luma.mean()) < 2
    assert abs(features.contrast - luma.std()) < 2
    assert (features.width, features.height, features.detections) == (810, 1080, 2)
    assert features.classes == ("person", "bus") and features.confidences == (0.9, 0.8)
    assert FrameFeatures.from_json(json.loads(json.dumps(features.to_json()))) == features


def test_a_darkened_stream_drifts_on_brightness_and_calls_on_drift(monitor: DriftMonitor, calls: DriftCalls) -> None:
    with_reference(monitor, stream(seed=1))
    observe_all(monitor, stream(seed=2, darken=0.4))
    assert calls.called.wait(WAIT), "no background check found drift"
    assert monitor.wait_idle(WAIT)
    assert set(calls.versions) == {"v1"}
    assert all(thread.name == "drift-check" for thread in calls.threads)  # never the caller's thread
    result = monitor.check_now("v1")
    assert result.drift_detected is True
    assert "brightness" in result.drifted_features
    assert result.features["brightness"].psi >= 0.2 and result.features["brightness"].p_value < 0.01


def test_a_fresh_sample_of_the_reference_stream_does_not_drift(monitor: DriftMonitor, calls: DriftCalls) -> None:
    with_reference(monitor, stream(seed=1))
    observe_all(monitor, stream(seed=3))
    assert monitor.wait_idle(WAIT)
    assert calls.versions == []
    result = monitor.check_now("v1")
    assert result.drift_detected is False, result.to_json()
    assert all(r.drifted is False for r in result.features.values())
    assert monitor.status()["versions"]["v1"]["drift_detected"] is False


def test_a_shift_from_mostly_people_to_mostly_cars_drifts_on_the_class_mix(monitor: DriftMonitor) -> None:
    with_reference(monitor, stream(seed=1, mix="people"))
    observe_all(monitor, stream(seed=4, mix="cars"))
    result = monitor.check_now("v1")
    assert result.drifted_features == ["classes"]
    assert result.features["classes"].test == "chi2"


def test_constant_sizes_and_no_detections_neither_crash_nor_drift(monitor: DriftMonitor, calls: DriftCalls) -> None:
    with_reference(monitor, stream(seed=5, frames=150, mix=None, size=(160, 120)))
    observe_all(monitor, stream(seed=6, frames=150, mix=None, size=(160, 120)))
    assert monitor.wait_idle(WAIT)
    result = monitor.check_now("v1")
    assert result.drift_detected is False and calls.versions == []
    for constant in ("pixels", "detections"):
        found = result.features[constant]
        assert (found.statistic, found.p_value, found.psi, found.drifted) == (0.0, 1.0, 0.0, False)
    for per_detection in ("confidence", "classes"):
        assert result.features[per_detection].drifted is None
        assert "too few values" in (result.features[per_detection].reason or "")
    json.dumps(monitor.status(), allow_nan=False)


@pytest.mark.parametrize("size", [(80, 60), (320, 240)], ids=["smaller", "larger"])
def test_a_resolution_change_drifts_on_pixel_count_either_way(monitor: DriftMonitor, size: tuple[int, int]) -> None:
    with_reference(monitor, stream(seed=5, frames=150, mix=None, size=(160, 120)))
    observe_all(monitor, stream(seed=6, frames=100, mix=None, size=size))
    assert "pixels" in monitor.check_now("v1").drifted_features


def test_psi_and_ks_treat_identical_constants_as_equal_and_a_lower_constant_as_drift() -> None:
    same = compare_numeric([7.0] * 50, [7.0] * 50, psi_threshold=0.2, p_value=0.01, min_values=20)
    assert (same.statistic, same.p_value, same.psi, same.drifted) == (0.0, 1.0, 0.0, False)
    assert numeric_psi(np.full(50, 7.0), np.full(50, 3.0)) > 10  # below the reference's point mass: its own bin
    few_values = np.array([0, 0, 0, 0, 1, 1, 2, 2, 2, 3] * 10, dtype=float)  # duplicate decile edges
    assert numeric_psi(few_values, few_values) == 0.0


def test_the_reference_survives_a_restart(config: DriftConfig, calls: DriftCalls) -> None:
    reference = stream(seed=1)[:150]
    with DriftMonitor(config, ["v1", "v2"], calls) as first:
        observe_all(first, reference)
        captured = first.update_reference()  # every version with enough frames: v1, not v2
        before = first.status()["versions"]["v1"]["reference"]
    assert list(captured["captured"]) == ["v1"] and "v2" in captured["skipped"]
    assert json.loads(config.reference_path.read_text())["format"] == 1
    with DriftMonitor(config, ["v1", "v2"], calls) as second:
        after = second.status()["versions"]
        assert after["v1"]["reference"] == before == {**before, "samples": 150, "source": "window"}
        assert after["v2"]["reference"] is None
        observe_all(second, stream(seed=3)[:100])
        assert second.check_now("v1").drift_detected is False


def test_an_operator_reference_file_is_used_and_other_versions_in_it_are_kept(
    config: DriftConfig, calls: DriftCalls
) -> None:
    frames = [f.to_json() for f in stream(seed=1)[:120]]
    config.reference_path.parent.mkdir(parents=True)
    config.reference_path.write_text(
        json.dumps({"format": 1, "versions": {"v1": {"frames": frames}, "v3": {"frames": frames}}})
    )
    with DriftMonitor(config, ["v1"], calls) as monitor:
        assert monitor.status()["versions"]["v1"]["reference"] == {
            "samples": 120,
            "source": "file",
            "captured_at": None,
        }
        observe_all(monitor, stream(seed=2, darken=0.4)[:100])
        assert "brightness" in monitor.check_now("v1").drifted_features
        monitor.update_reference("v1")
    saved = json.loads(config.reference_path.read_text())["versions"]
    assert saved["v1"]["source"] == "window" and saved["v3"]["frames"] == frames


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not valid JSON"),
        ('{"format": 2, "versions": {}}', '"format": 1'),
        ('{"format": 1, "versions": {"v1": {"frames": [{"brightness": 1}]}}}', "versions.v1.frames[0]: missing"),
    ],
    ids=["not-json", "wrong-format", "bad-frame"],
)
def test_a_corrupt_reference_file_fails_start_up_naming_the_path(
    config: DriftConfig, calls: DriftCalls, content: str, problem: str
) -> None:
    config.reference_path.parent.mkdir(parents=True)
    config.reference_path.write_text(content)
    with pytest.raises(StartupError) as error:
        DriftMonitor(config, ["v1"], calls)
    assert isinstance(error.value, ValueError)
    assert str(config.reference_path) in str(error.value) and problem in str(error.value)


def test_a_reference_from_too_few_frames_is_refused_with_a_clear_error(monitor: DriftMonitor) -> None:
    observe_all(monitor, stream(seed=1)[:10])
    with pytest.raises(NotEnoughFrames, match="window of v1 holds 10 of the 100 frames"):
        monitor.update_reference("v1")
    with pytest.raises(ValueError, match="window of v2 holds 0 of the 100 frames"):
        monitor.update_reference()
    assert not monitor.config.reference_path.exists()


def test_observe_returns_at_once_while_a_check_runs_on_the_worker_thread(config: DriftConfig) -> None:
    entered, release = threading.Event(), threading.Event()
    threads: list[threading.Thread] = []

    def slow_on_drift(version: str) -> None:  # holds the worker until the test lets it go
        threads.append(threading.current_thread())
        entered.set()
        release.wait(WAIT)

    with DriftMonitor(config, ["v1"], slow_on_drift) as monitor:
        with_reference(monitor, stream(seed=1))
        durations = []
        for features in stream(seed=2, darken=0.4) * 2:
            start = time.perf_counter()
            monitor.observe("v1", features)
            durations.append(time.perf_counter() - start)
        assert entered.wait(WAIT), "no background check found drift"
        assert max(durations) < 0.05
        assert threads[0] is not threading.current_thread() and threads[0].name == "drift-check"
        release.set()


def test_unknown_versions_are_ignored_by_observe_and_refused_by_check_now(monitor: DriftMonitor) -> None:
    monitor.observe("v9", stream(seed=1)[0])
    assert set(monitor.status()["versions"]) == {"v1", "v2"}
    with pytest.raises(UnknownVersion, match="v9"):
        monitor.check_now("v9")


def test_status_before_any_data_tells_the_operator_what_to_do(monitor: DriftMonitor) -> None:
    status = json.loads(json.dumps(monitor.status(), allow_nan=False))
    v1 = status["versions"]["v1"]
    assert v1["drift_detected"] is None and v1["reference"] is None
    assert v1["window"] == {"samples": 0, "size": 200}
    assert "POST /reference/update" in v1["reason"] and str(monitor.config.reference_path) in v1["reason"]
    assert status["thresholds"]["psi_threshold"] == 0.2 and "Kolmogorov-Smirnov" in status["method"]
