"""Data-drift monitoring: is what a model version sees now still what it saw when it worked?

For each model version the monitor keeps a sliding window of the features of the last
``DRIFT_WINDOW_SIZE`` answered frames and compares it, feature by feature, with that
version's reference sample:

* numeric, one value per frame: ``brightness`` (mean luma, 0..255), ``contrast`` (std of
  luma), ``pixels`` (width x height) and ``detections`` (detections per frame). Each is
  tested with the two-sample Kolmogorov-Smirnov test (``scipy.stats.ks_2samp``) and the
  Population Stability Index over 10 quantile bins of the reference (shares floored at
  1e-4).
* ``confidence``: every detection confidence in the window against every one in the
  reference, with KS and PSI as above; skipped (with a reason) while either side has
  fewer than 20 detections.
* ``classes``: the class mix of the detections, a chi-square test on the 2 x k table of
  counts per class (``scipy.stats.chi2_contingency``; classes seen fewer than 5 times
  merged into one) and the PSI over the classes; skipped below 20 detections as above.

A feature drifts when its PSI >= ``DRIFT_PSI_THRESHOLD`` (0.2) AND its test's p-value
< ``DRIFT_P_VALUE`` (0.01). Both are required: on hundreds of frames (and thousands of
detections, which are not even independent) a test flags shifts too small to matter,
while the PSI of two samples of the same stream is itself noisy on small samples (about
0.09 on average at 200 frames a side, 10 bins). A version has drifted when at least one
feature has. Nothing is tested until the window and the reference each hold
``DRIFT_MIN_SAMPLES`` (100) frames; then the test runs every ``DRIFT_CHECK_EVERY`` (50)
frames on one background thread, and every such check that finds drift calls
``on_drift(version)`` once (checks asked for by :meth:`DriftMonitor.check_now` and
:meth:`DriftMonitor.status` report but do not call it, so polling does not inflate the
count). Constant features are handled: identical constants never drift (KS statistic 0,
p = 1, PSI 0), a change of constant (640x480 to 1920x1080) does; see
``ai.detector.drift_stats`` for the degenerate cases.

The reference comes from ``POST /reference/update`` (the current window becomes it) or
from a file an operator puts at ``REFERENCE_DATA_PATH``; it is kept there across
restarts. The file is JSON::

    {"format": 1,
     "versions": {"v1": {"captured_at": "2025-01-31T12:00:00+00:00",  # optional
                         "source": "window" | "file",                # optional, default "file"
                         "frames": [{"brightness": 112.5, "contrast": 61.2,
                                     "width": 1920, "height": 1080,
                                     "confidences": [0.91, 0.55],
                                     "classes": ["person", "car"]}, ...]}}}

one frame object per answered frame (what :func:`frame_features` measures); at most
``reference_size`` frames per version are kept (evenly spaced). Versions the service
does not run are kept in the file untouched.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ai.detector.drift_features import FrameFeatures, is_kind_of
from ai.detector.drift_stats import Comparison, compare_categories, compare_numeric
from ai.runtime.errors import StartupError

if TYPE_CHECKING:  # only .label and .confidence are read: no model stack needed at run time
    pass

logger = logging.getLogger(__name__)

FORMAT = 1
MIN_DETECTIONS = 20  # detections each side needs before confidence and class mix are tested
NUMERIC_FEATURES = ("brightness", "contrast", "pixels", "detections")
METHOD = (
    "Per model version, a sliding window of recent frames is compared with the version's reference, "
    "feature by feature: brightness, contrast, pixels and detections per frame, and detection confidence, "
    "with a two-sample Kolmogorov-Smirnov test and the PSI over 10 quantile bins of the reference; the class "
    "mix with a chi-square test and the PSI over classes. A feature drifts when PSI >= psi_threshold and "
    "p-value < p_value; the version drifts when any feature does."
)


class ReferenceDataError(StartupError, ValueError):
    """The reference file cannot be used; the message names the file and the problem."""


class NotEnoughFrames(ValueError):
    """A reference was asked for before the window held DRIFT_MIN_SAMPLES frames."""


class UnknownVersion(ValueError):
    """A model version the monitor does not watch."""


@dataclass(frozen=True)
class DriftConfig:
    reference_path: Path  # REFERENCE_DATA_PATH
    window_size: int = 500  # DRIFT_WINDOW_SIZE: recent frames kept per version
    min_samples: int = 100  # DRIFT_MIN_SAMPLES: frames window and reference each need before a test runs
    check_every: int = 50  # DRIFT_CHECK_EVERY: re-test after this many new frames
    psi_threshold: float = 0.2  # DRIFT_PSI_THRESHOLD
    p_value: float = 0.01  # DRIFT_P_VALUE
    reference_size: int = 2000  # most frames kept as a reference

    def __post_init__(self) -> None:
        object.__setattr__(self, "reference_path", Path(self.reference_path))
        problems = []
        if self.min_samples < 2:
            problems.append(f"DRIFT_MIN_SAMPLES must be at least 2, got {self.min_samples}")
        if self.window_size < self.min_samples:
            problems.append(
                f"DRIFT_WINDOW_SIZE ({self.window_size}) must be at least DRIFT_MIN_SAMPLES ({self.min_samples}):"
                " no window could ever be tested"
            )
        if self.reference_size < self.min_samples:
            problems.append(f"the reference size ({self.reference_size}) must be at least DRIFT_MIN_SAMPLES")
        if self.check_every < 1:
            problems.append(f"DRIFT_CHECK_EVERY must be at least 1, got {self.check_every}")
        if not (math.isfinite(self.psi_threshold) and self.psi_threshold > 0):
            problems.append(f"DRIFT_PSI_THRESHOLD must be a positive number, got {self.psi_threshold}")
        if not 0 < self.p_value < 1:
            problems.append(f"DRIFT_P_VALUE must lie between 0 and 1, got {self.p_value}")
        if problems:
            raise StartupError("drift monitoring: " + "; ".join(problems))


@dataclass(frozen=True)
class Reference:
    """A version's reference sample and where it came from."""

    frames: tuple[FrameFeatures, ...]
    source: str  # "window" (captured from traffic) or "file" (supplied by an operator)
    captured_at: str | None  # ISO 8601

    def to_json(self) -> dict[str, Any]:
        return {"captured_at": self.captured_at, "source": self.source, "frames": [f.to_json() for f in self.frames]}

    def summary(self) -> dict[str, Any]:
        return {"samples": len(self.frames), "source": self.source, "captured_at": self.captured_at}

    @cached_property
    def sample(self) -> _Sample:
        return _Sample.of(self.frames)


@dataclass(frozen=True)
class _Sample:
    """Frames as arrays, one per feature, ready for the tests."""

    numeric: Mapping[str, np.ndarray]
    confidences: np.ndarray
    classes: list[str]

    @classmethod
    def of(cls, frames: Sequence[FrameFeatures]) -> _Sample:
        n = len(frames)
        numeric = {
            "brightness": np.fromiter((f.brightness for f in frames), np.float64, n),
            "contrast": np.fromiter((f.contrast for f in frames), np.float64, n),
            "pixels": np.fromiter((f.width * f.height for f in frames), np.float64, n),
            "detections": np.fromiter((len(f.confidences) for f in frames), np.float64, n),
        }
        confidences = np.fromiter(chain.from_iterable(f.confidences for f in frames), np.float64)
        return cls(numeric, confidences, list(chain.from_iterable(f.classes for f in frames)))


@dataclass(frozen=True)
class VersionDrift:
    """One check of one version. ``drift_detected`` is None (with ``reason``) when the
    window or the reference is too small to test."""

    version: str
    drift_detected: bool | None
    reason: str | None
    checked_at: str | None  # ISO 8601, None when nothing was tested
    reference_samples: int
    window_samples: int
    features: Mapping[str, Comparison] = field(default_factory=dict)

    @property
    def drifted_features(self) -> list[str]:
        return [name for name, result in self.features.items() if result.drifted]

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "drift_detected": self.drift_detected,
            "reason": self.reason,
            "checked_at": self.checked_at,
            "reference_samples": self.reference_samples,
            "window_samples": self.window_samples,
            "features": {name: result.to_json() for name, result in self.features.items()},
        }


def compare(reference: _Sample, window: _Sample, config: DriftConfig) -> dict[str, Comparison]:
    """Every feature's comparison (see the module docstring)."""
    thresholds = {"psi_threshold": config.psi_threshold, "p_value": config.p_value}
    results = {
        name: compare_numeric(
            reference.numeric[name], window.numeric[name], min_values=config.min_samples, **thresholds
        )
        for name in NUMERIC_FEATURES
    }
    results["confidence"] = compare_numeric(
        reference.confidences, window.confidences, min_values=MIN_DETECTIONS, **thresholds
    )
    results["classes"] = compare_categories(reference.classes, window.classes, min_values=MIN_DETECTIONS, **thresholds)
    return results


def read_references(path: Path) -> dict[str, Reference]:
    """Every version's reference in the file at ``path``; ReferenceDataError when it is unusable."""

    def fail(problem: str) -> ReferenceDataError:
        return ReferenceDataError(
            f"reference data {path} (REFERENCE_DATA_PATH): {problem}; fix or remove the file "
            "(POST /reference/update writes a new one)"
        )

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot be read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise fail(f"is not valid JSON ({exc})") from None
    if not isinstance(document, dict):
        raise fail(f"expected a JSON object, got {is_kind_of(document)}")
    if document.get("format") != FORMAT:
        raise fail(f'expected "format": {FORMAT}, got {document.get("format")!r}')
    versions = document.get("versions")
    if not isinstance(versions, dict):
        raise fail(f'expected "versions" to be an object of version name to reference, got {is_kind_of(versions)}')
    references = {}
    for version, entry in versions.items():
        where = f"versions.{version}"
        if not isinstance(entry, dict):
            raise fail(f"{where}: expected an object, got {is_kind_of(entry)}")
        source = entry.get("source", "file")
        if source not in ("window", "file"):
            raise fail(f'{where}.source: expected "window" or "file", got {source!r}')
        captured_at = entry.get("captured_at")
        if captured_at is not None:
            try:
                datetime.fromisoformat(captured_at)
            except (TypeError, ValueError):
                raise fail(f"{where}.captured_at: expected an ISO 8601 time, got {captured_at!r}") from None
        frames = entry.get("frames")
        if not isinstance(frames, list):
            raise fail(f"{where}.frames: expected a list of frame features, got {is_kind_of(frames)}")
        parsed = []
        for index, frame in enumerate(frames):
            try:
                parsed.append(FrameFeatures.from_json(frame))
            except ValueError as exc:
                raise fail(f"{where}.frames[{index}]: {exc}") from None
        references[version] = Reference(tuple(parsed), source, captured_at)
    return references


def write_references(path: Path, references: Mapping[str, Reference]) -> None:
    """Write the file atomically: a crash leaves the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"format": FORMAT, "versions": {version: ref.to_json() for version, ref in references.items()}}
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(document, file, separators=(",", ":"))
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


@dataclass
class _VersionState:
    window: deque[FrameFeatures]
    reference: Reference | None = None
    since_check: int = 0  # frames observed since the last scheduled check
    observed: int = 0  # frames observed in all
    last: VersionDrift | None = None
    last_observed: int = -1  # ``observed`` when ``last`` was taken


class DriftMonitor:
    """Per-version windows, references and checks. ``observe`` is cheap and never tests;
    the tests run on one background thread, which also calls ``on_drift`` (keep it quick
    and thread-safe: a Prometheus counter is)."""

    def __init__(self, config: DriftConfig, versions: Iterable[str], on_drift: Callable[[str], None]) -> None:
        self.config = config
        self._on_drift = on_drift
        self._states = {version: _VersionState(deque(maxlen=config.window_size)) for version in versions}
        self._others: dict[str, Reference] = {}  # references in the file for versions not run here
        self._lock = threading.Condition()  # guards the states and the queue; held only briefly
        self._persist = threading.Lock()  # one reference write at a time
        self._queue: deque[str] = deque()
        self._busy = False
        self._closed = False
        if config.reference_path.is_file():
            self._load()
        self._worker = threading.Thread(target=self._work, name="drift-check", daemon=True)
        self._worker.start()

    def __enter__(self) -> DriftMonitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def versions(self) -> list[str]:
        return list(self._states)

    def observe(self, version: str, features: FrameFeatures) -> None:
        """Record an answered frame; every DRIFT_CHECK_EVERY frames queue a check. O(1)."""
        state = self._states.get(version)
        if state is None:
            return
        with self._lock:
            state.window.append(features)
            state.observed += 1
            state.since_check += 1
            if state.since_check < self.config.check_every or not self._ready(state):
                return
            state.since_check = 0
            if not self._closed and version not in self._queue:  # a check already queued will see this frame
                self._queue.append(version)
                self._lock.notify_all()

    def check_now(self, version: str) -> VersionDrift:
        """Test ``version`` now, on the caller's thread: about 15 ms for a 500-frame window
        against a 2,000-frame reference. Does not call ``on_drift``."""
        state = self._state(version)
        with self._lock:
            frames = tuple(state.window)
            reference = state.reference
            observed = state.observed
            not_ready = self._why_not_ready(version, state)
        if not_ready is not None or reference is None:
            return VersionDrift(version, None, not_ready, None, _size(reference), len(frames))
        features = compare(reference.sample, _Sample.of(frames), self.config)
        drifted = any(result.drifted for result in features.values())
        result = VersionDrift(version, drifted, None, _now(), len(reference.frames), len(frames), features)
        with self._lock:
            if state.reference is reference and observed >= state.last_observed:
                state.last, state.last_observed = result, observed
        return result

    def status(self) -> dict[str, Any]:
        """JSON-able state of every version, for ``GET /drift/status``. A version ready to
        test but never tested yet is tested here, so the answer is never 'wait'."""
        versions = {}
        for version, state in self._states.items():
            with self._lock:
                reference = state.reference
                window = len(state.window)
                last = state.last
                not_ready = self._why_not_ready(version, state)
            if not_ready is None and last is None:
                last = self.check_now(version)
            versions[version] = {
                "reference": reference.summary() if reference is not None else None,
                "window": {"samples": window, "size": self.config.window_size},
                "drift_detected": None if not_ready is not None or last is None else last.drift_detected,
                "reason": not_ready,
                "last_checked_at": last.checked_at if last is not None else None,
                "drifted_features": last.drifted_features if last is not None else [],
                "features": {name: r.to_json() for name, r in last.features.items()} if last is not None else {},
            }
        return {
            "method": METHOD,
            "thresholds": {
                "psi_threshold": self.config.psi_threshold,
                "p_value": self.config.p_value,
                "min_samples": self.config.min_samples,
                "min_detections": MIN_DETECTIONS,
                "window_size": self.config.window_size,
                "check_every": self.config.check_every,
            },
            "reference_path": str(self.config.reference_path),
            "versions": versions,
        }

    def update_reference(self, version: str | None = None) -> dict[str, Any]:
        """The current window becomes the reference of ``version`` (None: of every version
        whose window is full enough), written to REFERENCE_DATA_PATH before it is used.
        NotEnoughFrames (a ValueError) when no window asked for holds DRIFT_MIN_SAMPLES frames."""
        targets = [version] if version is not None else list(self._states)
        for name in targets:
            self._state(name)
        minimum = self.config.min_samples
        with self._persist:
            captured: dict[str, Reference] = {}
            skipped: dict[str, str] = {}
            with self._lock:
                for name in targets:
                    frames = tuple(self._states[name].window)
                    if len(frames) < minimum:
                        skipped[name] = (
                            f"the window of {name} holds {len(frames)} of the {minimum} frames (DRIFT_MIN_SAMPLES) "
                            "a reference needs"
                        )
                        continue
                    captured[name] = Reference(_spread(frames, self.config.reference_size), "window", _now())
                everything = {**self._others, **self._references(), **captured}
            if not captured:
                raise NotEnoughFrames("; ".join(skipped.values()) + ": send normal traffic and try again")
            write_references(self.config.reference_path, everything)
            with self._lock:
                for name, reference in captured.items():
                    state = self._states[name]
                    state.reference, state.last, state.last_observed, state.since_check = reference, None, -1, 0
        for name, reference in captured.items():
            logger.info("drift reference of %s captured from %d frames", name, len(reference.frames))
        return {
            "captured": {name: reference.summary() for name, reference in captured.items()},
            "skipped": skipped,
            "path": str(self.config.reference_path),
        }

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no check is queued or running; False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._queue and not self._busy, timeout)

    def close(self) -> None:
        """Stop the worker; queued checks are dropped, a running one finishes."""
        with self._lock:
            self._closed = True
            self._queue.clear()
            self._lock.notify_all()
        if self._worker is not threading.current_thread():
            self._worker.join(timeout=10)

    def _work(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(lambda: self._queue or self._closed)
                if self._closed:
                    return
                version = self._queue.popleft()
                self._busy = True
            try:
                result = self.check_now(version)
                if result.drift_detected:
                    logger.warning("data drift in %s: %s", version, ", ".join(result.drifted_features))
                    self._on_drift(version)
            except Exception:
                logger.exception("drift check of %s failed", version)
            finally:
                with self._lock:
                    self._busy = False
                    self._lock.notify_all()

    def _load(self) -> None:
        path = self.config.reference_path
        for version, reference in read_references(path).items():
            kept = Reference(
                _spread(reference.frames, self.config.reference_size), reference.source, reference.captured_at
            )
            if version in self._states:
                self._states[version].reference = kept
                logger.info("drift reference of %s: %d frames from %s", version, len(kept.frames), path)
            else:
                self._others[version] = reference

    def _references(self) -> dict[str, Reference]:
        return {name: state.reference for name, state in self._states.items() if state.reference is not None}

    def _state(self, version: str) -> _VersionState:
        state = self._states.get(version)
        if state is None:
            raise UnknownVersion(f"unknown model version {version!r}: drift is monitored for {', '.join(self._states)}")
        return state

    def _ready(self, state: _VersionState) -> bool:
        minimum = self.config.min_samples
        return state.reference is not None and len(state.reference.frames) >= minimum and len(state.window) >= minimum

    def _why_not_ready(self, version: str, state: _VersionState) -> str | None:
        """Why ``version`` cannot be tested yet, as an instruction to the operator; None when it can."""
        minimum = self.config.min_samples
        window = len(state.window)
        if state.reference is None:
            return (
                f"no reference for {version}: once {version} has answered {minimum} frames of normal traffic "
                f"(it has {window}), POST /reference/update; or put reference features at "
                f"{self.config.reference_path} (format: ai/detector/drift.py) and restart"
            )
        if len(state.reference.frames) < minimum:
            return (
                f"the reference of {version} has {len(state.reference.frames)} frames, fewer than the {minimum} "
                f"(DRIFT_MIN_SAMPLES) a test needs: POST /reference/update once the window holds {minimum} frames "
                f"of normal traffic, or supply more at {self.config.reference_path}"
            )
        if window < minimum:
            return f"the window of {version} holds {window} of the {minimum} frames (DRIFT_MIN_SAMPLES) a test needs"
        return None


def _spread(frames: Sequence[FrameFeatures], limit: int) -> tuple[FrameFeatures, ...]:
    """At most ``limit`` frames, evenly spaced over all of them (not just the latest)."""
    if len(frames) <= limit:
        return tuple(frames)
    return tuple(frames[i] for i in np.linspace(0, len(frames) - 1, limit).round().astype(int))


def _size(reference: Reference | None) -> int:
    return 0 if reference is None else len(reference.frames)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
