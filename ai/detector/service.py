"""The detector service: YOLO model versions behind ``/detect`` (split by
``DETECTOR_TRAFFIC_SPLIT``), ``/detect/batch``, ``/v1/predict`` and ``/v2/predict``,
with drift monitoring and active-learning capture on every answered frame."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI

from ai.detector.active_learning import ActiveLearningConfig, ActiveLearningSampler
from ai.detector.detect import DETECT_ENDPOINT, batch_router
from ai.detector.drift import DriftConfig, DriftMonitor
from ai.detector.drift_features import frame_features
from ai.detector.metrics import DetectionMetricsMiddleware, DetectorMetrics
from ai.detector.mlops_routes import mlops_router
from ai.detector.predict import PREDICT_ENDPOINTS
from ai.detector.settings import DetectorSettings
from ai.detector.versions import DetectorEntry, TrafficSplit, configured, not_configured, version_entries
from ai.runtime.catalog import CatalogEntry
from ai.runtime.errors import ServiceError
from ai.runtime.families.tasks import Detection
from ai.runtime.image_request import DecodedImage
from ai.runtime.model_service import ModelService
from ai.runtime.service import ServiceRuntime

logger = logging.getLogger(__name__)


class DetectorService(ModelService):
    name = "detector"
    settings_type = DetectorSettings
    entry_type = DetectorEntry
    description = "YOLO object detection of the security classes, with A/B versions, drift and active learning."
    endpoints = (DETECT_ENDPOINT, *PREDICT_ENDPOINTS)
    settings: DetectorSettings

    def __init__(self, settings: DetectorSettings) -> None:
        super().__init__(settings)
        self.classes = frozenset(settings.classes)
        self.by_version: dict[str, DetectorEntry] = {}
        self.served: dict[str, DetectorEntry] = {}
        self.split: TrafficSplit
        self.metrics: DetectorMetrics
        self.drift: DriftMonitor | None = None
        self.sampler: ActiveLearningSampler | None = None
        self._runtime: ServiceRuntime | None = None

    def hosted(self, catalog: dict[str, CatalogEntry]) -> dict[str, CatalogEntry]:
        self.by_version = version_entries(catalog)
        self.served = {v: e for v, e in self.by_version.items() if configured(e)}
        self.split = TrafficSplit(self.settings.traffic_split, self.served, self.by_version)
        hosted_names = {entry.name for entry in self.served.values()}
        preload = list(self.settings.preload_models)
        for entry in self.served.values():  # a configured version is meant to answer: load it at start
            if entry.name not in preload:
                preload.append(entry.name)
        self.settings.preload_models = [name for name in preload if name in hosted_names]
        return {name: entry for name, entry in catalog.items() if name in hosted_names}

    def not_hosted(self, name: str) -> ServiceError | None:
        entry = next((e for e in self.by_version.values() if e.name == name), None)
        return not_configured(entry) if entry is not None else None

    def entry_for(self, version: str) -> DetectorEntry:
        entry = self.served.get(version)
        if entry is None:
            raise not_configured(self.by_version[version])
        return entry

    def model_label(self, entry: DetectorEntry) -> str:
        """The weights' file name without its suffix (e.g. yolo26m), else the row's name."""
        assert self._runtime is not None
        path = self._runtime.manager.records[entry.name].spec.describe().get("path")
        return Path(str(path)).stem if path else entry.name

    def routers(self) -> Sequence[APIRouter]:
        return (batch_router(), mlops_router())

    def install(self, app: FastAPI, runtime: ServiceRuntime) -> None:
        settings = self.settings
        self._runtime = runtime
        self.metrics = DetectorMetrics(runtime.metrics.registry)
        app.add_middleware(DetectionMetricsMiddleware, metrics=self.metrics)
        versions = list(self.served)
        if settings.drift_enabled:
            assert settings.reference_data_path is not None
            self.drift = DriftMonitor(
                DriftConfig(
                    reference_path=settings.reference_data_path,
                    window_size=settings.drift_window_size,
                    min_samples=settings.drift_min_samples,
                    check_every=settings.drift_check_every,
                    psi_threshold=settings.drift_psi_threshold,
                    p_value=settings.drift_p_value,
                ),
                versions,
                on_drift=lambda version: self.metrics.drift.labels(version=version).inc(),
            )
            runtime.on_close.append(self.drift.close)
        if settings.active_learning_enabled:
            assert settings.active_learning_dir is not None
            self.sampler = ActiveLearningSampler(
                ActiveLearningConfig(
                    directory=settings.active_learning_dir,
                    uncertainty_threshold=settings.uncertainty_threshold,
                    min_confidence=settings.active_learning_min_confidence,
                    max_mb=settings.active_learning_max_mb,
                    max_per_minute=settings.active_learning_max_per_minute,
                    s3_bucket=settings.s3_bucket_name,
                    s3_prefix=settings.s3_prefix,
                    s3_endpoint_url=settings.s3_endpoint_url,
                ),
                on_saved=lambda version: self.metrics.active_learning.labels(version=version).inc(),
            )
            runtime.on_close.append(self.sampler.close)

    def observe(
        self,
        version: str,
        image: DecodedImage,
        detections: list[Detection],
        names: Mapping[int, str],
        camera_id: str | None,
    ) -> None:
        """Hand an answered frame to drift monitoring and active learning (both queue it)."""
        if self.drift is not None:
            in_classes = [d for d in detections if d.label in self.classes] if self.classes else detections
            self.drift.observe(version, frame_features(image.image, in_classes))
        if self.sampler is not None:
            self.sampler.offer(version, image.image, detections, names, camera_id)

    @property
    def title(self) -> str:
        return "Detector (YOLO26)"

    def health_extra(self) -> dict[str, Any]:
        return {
            "versions": {v: e.name for v, e in self.served.items()},
            "traffic_split": self.split.shares,
            "classes": sorted(self.classes),
            "confidence": self.settings.confidence,
        }
