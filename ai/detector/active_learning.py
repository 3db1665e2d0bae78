"""Active-learning capture: frames the detector is unsure about are saved with its predicted
labels as a YOLO dataset, so an operator can correct them and retrain on exactly the cases
the model gets wrong. Deciding is cheap and happens on the event loop; encoding and writing
happen on one background thread, and when that thread falls behind samples are dropped,
never waited for."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from PIL import Image

from ai.detector.dataset_sink import (
    DirectorySink,
    S3Sink,
    Sink,
    data_yaml,
    encode_jpeg,
    safe_version,
    sample_name,
    yolo_labels,
)
from ai.runtime.families.tasks import Detection

logger = logging.getLogger(__name__)

DROP_REASONS = ("rate", "queue_full", "quota", "error")


@dataclass(frozen=True)
class ActiveLearningConfig:
    directory: Path
    enabled: bool = True
    uncertainty_threshold: float = 0.7
    min_confidence: float = 0.25
    max_mb: float = 1024.0  # MiB
    max_per_minute: float = 30.0
    queue_size: int = 32
    s3_bucket: str | None = None
    s3_prefix: str = "active-learning"
    s3_endpoint_url: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.min_confidence <= self.uncertainty_threshold <= 1:
            raise ValueError("need 0 <= min_confidence <= uncertainty_threshold <= 1")
        if self.max_mb < 0 or self.max_per_minute < 0 or self.queue_size < 1:
            raise ValueError("max_mb and max_per_minute must be >= 0 and queue_size >= 1")

    @property
    def quota_bytes(self) -> int:
        return int(self.max_mb * 1024 * 1024)


def uncertain_detections(detections: Sequence[Detection], config: ActiveLearningConfig) -> list[Detection]:
    """Detections in the band ``min_confidence <= confidence < uncertainty_threshold``: the
    model saw something there but is not sure what, which is where a corrected label teaches
    it most. Above the threshold it is already confident; below the floor it is mostly noise
    that would flood the review queue. A frame is uncertain when this list is non-empty."""
    low, high = config.min_confidence, config.uncertainty_threshold
    return [det for det in detections if low <= det.confidence < high]


class TokenBucket:
    """``per_minute`` samples a minute on average, with bursts of up to ten seconds' worth
    (at least one), so a burst of activity is captured without filling the disk with
    near-identical frames of one event. ``per_minute`` 0 lets nothing through."""

    def __init__(self, per_minute: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, per_minute / 6.0) if per_minute > 0 else 0.0
        self.tokens = self.capacity
        self.clock = clock
        self.stamp = clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class _Sample(NamedTuple):
    version: str
    image: Image.Image
    detections: tuple[Detection, ...]
    class_names: Mapping[int, str]
    camera_id: str | None
    timestamp: float


_STOP = object()


class ActiveLearningSampler:
    """``offer`` decides and enqueues; one daemon thread writes. ``on_saved(version)`` runs
    on that thread once per sample written."""

    def __init__(self, config: ActiveLearningConfig, on_saved: Callable[[str], None]) -> None:
        self.config = config
        self._on_saved = on_saved
        self._lock = threading.Lock()  # counters are shared with the writer thread
        self._bucket = TokenBucket(config.max_per_minute)
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=config.queue_size)
        self._saved = 0
        self._dropped = dict.fromkeys(DROP_REASONS, 0)
        self._bytes_used = 0
        self._quota_warned = False
        self._names: dict[str, dict[int, str]] = {}  # per version folder, as last written to data.yaml
        self._closed = False
        self._sink: Sink | None = None
        self._thread: threading.Thread | None = None
        if config.enabled:
            self._sink = self._open_sink()
            self._thread = threading.Thread(target=self._run, name="active-learning-writer", daemon=True)
            self._thread.start()

    def _open_sink(self) -> Sink:
        cfg = self.config
        if cfg.s3_bucket:
            return S3Sink(cfg.s3_bucket, cfg.s3_prefix, cfg.s3_endpoint_url)
        return DirectorySink(cfg.directory)

    def offer(
        self,
        version: str,
        image: Image.Image,
        detections: Sequence[Detection],
        class_names: Mapping[int, str],
        camera_id: str | None = None,
    ) -> bool:
        """Queue the frame when it is uncertain, within the rate and the queue has room;
        return whether it was queued. Never blocks and never touches the disk."""
        low, high = self.config.min_confidence, self.config.uncertainty_threshold
        if self._thread is None or self._closed or not any(low <= d.confidence < high for d in detections):
            return False
        sample = _Sample(version, image, tuple(detections), class_names, camera_id, time.time())
        with self._lock:
            if not self._bucket.take():
                self._dropped["rate"] += 1
                return False
            try:
                self._queue.put_nowait(sample)
            except queue.Full:
                self._dropped["queue_full"] += 1
                return False
        return True

    def status(self) -> dict[str, Any]:
        cfg = self.config
        with self._lock:
            return {
                "enabled": cfg.enabled,
                "sink": self._sink.description if self._sink else None,
                "saved": self._saved,
                "dropped": dict(self._dropped),
                "queued": self._queue.qsize(),
                "bytes_used": self._bytes_used,
                "quota_bytes": cfg.quota_bytes,
                "uncertainty_threshold": cfg.uncertainty_threshold,
                "min_confidence": cfg.min_confidence,
                "max_per_minute": cfg.max_per_minute,
            }

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued, then stop; blocks up to ``timeout`` seconds (call it off the
        event loop). What is still queued after that is lost with the daemon thread."""
        if self._thread is None or self._closed:
            return
        self._closed = True
        deadline = time.monotonic() + timeout
        try:
            self._queue.put(_STOP, timeout=timeout)
        except queue.Full:
            logger.warning("active learning: writer still busy after %.1fs; queued samples are lost", timeout)
            return
        self._thread.join(max(0.0, deadline - time.monotonic()))
        if self._thread.is_alive():
            logger.warning("active learning: writer still busy after %.1fs; queued samples are lost", timeout)

    def _run(self) -> None:
        assert self._sink is not None
        try:
            used = self._sink.usage()
        except Exception as exc:
            logger.warning("active learning: cannot measure %s (%s); quota counted from 0", self._sink.description, exc)
            used = 0
        with self._lock:
            self._bytes_used += used
        while (sample := self._queue.get()) is not _STOP:
            try:
                self._write(self._sink, sample)
            except Exception as exc:
                self._count_drop("error")
                logger.warning("active learning: writing a sample to %s failed: %s", self._sink.description, exc)

    def _write(self, sink: Sink, sample: _Sample) -> None:
        folder = safe_version(sample.version)
        width, height = sample.image.size
        labels = yolo_labels(sample.detections, width, height).encode()
        jpeg = encode_jpeg(sample.image)
        names = self._merged_names(folder, sample)
        yaml = data_yaml(names, sink.dataset_root(folder)).encode() if names != self._names.get(folder) else b""
        if self._bytes_used + len(labels) + len(jpeg) + len(yaml) > self.config.quota_bytes:
            self._count_drop("quota")
            if not self._quota_warned:
                self._quota_warned = True
                logger.warning(
                    "active learning: %s is at its quota of %.0f MiB; new samples are dropped",
                    sink.description,
                    self.config.max_mb,
                )
            return
        name = sample_name(sample.timestamp, sample.camera_id)
        grown = 0
        if yaml:
            grown += sink.put(f"{folder}/data.yaml", yaml)
            self._names[folder] = names
        grown += sink.put(f"{folder}/labels/{name}.txt", labels)  # label first: an image never shows unlabelled
        grown += sink.put(f"{folder}/images/{name}.jpg", jpeg)
        with self._lock:
            self._bytes_used += grown
            self._saved += 1
        try:
            self._on_saved(sample.version)
        except Exception:
            logger.exception("active learning: on_saved callback failed")

    def _merged_names(self, folder: str, sample: _Sample) -> dict[int, str]:
        """Names seen so far for this folder, updated by the model's and then by any class id
        the model's names lack, so every id in a label file stays named in data.yaml."""
        names = dict(self._names.get(folder, {}))
        names.update((int(k), str(v)) for k, v in sample.class_names.items())
        for det in sample.detections:
            names.setdefault(det.class_id, det.label)
        return names

    def _count_drop(self, reason: str) -> None:
        with self._lock:
            self._dropped[reason] += 1
