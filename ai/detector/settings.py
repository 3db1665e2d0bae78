"""Settings of the detector: thresholds, class filter, versions and the MLOps features."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator
from pydantic_settings import NoDecode

from ai.runtime.settings import CsvList, RuntimeSettings, split_csv

# The specification's security classes: what a home camera should report.
SECURITY_CLASSES = ["person", "car", "truck", "dog", "cat", "bird", "bicycle", "motorcycle", "bus"]
DEFAULT_DATA_DIR = Path.home() / ".local" / "share" / "ai-fleet" / "detector"


def parse_split(value: Any) -> Any:
    """``"v1=80,v2=20"`` to ``{"v1": 80.0, "v2": 20.0}``; a bare ``"v2"`` means all to it."""
    if not isinstance(value, str):
        return value
    weights: dict[str, float] = {}
    for part in split_csv(value):
        name, sep, number = part.partition("=")
        try:
            weights[name.strip().lower()] = float(number) if sep else 100.0
        except ValueError:
            raise ValueError(f"expected version=weight (e.g. v1=80,v2=20), got {part!r}") from None
    return weights


class DetectorSettings(RuntimeSettings):
    port: int = Field(8095, validation_alias="PORT", ge=1, le=65535)
    service_name: str = Field("ai-yolo26", validation_alias="SERVICE_NAME")
    preload_models: CsvList = Field(default_factory=lambda: ["yolo26"], validation_alias="PRELOAD_MODELS")

    confidence: float = Field(0.5, validation_alias="YOLO26_CONFIDENCE", ge=0, le=1)
    classes: CsvList = Field(default_factory=lambda: list(SECURITY_CLASSES), validation_alias="DETECTOR_CLASSES")
    max_batch_images: int = Field(16, validation_alias="DETECTOR_MAX_BATCH_IMAGES", ge=1, le=64)
    traffic_split: Annotated[dict[str, float], NoDecode] = Field(
        default_factory=lambda: {"v1": 100.0}, validation_alias="DETECTOR_TRAFFIC_SPLIT"
    )

    data_dir: Path = Field(DEFAULT_DATA_DIR, validation_alias="DETECTOR_DATA_DIR")
    drift_enabled: bool = Field(True, validation_alias="DRIFT_ENABLED")
    reference_data_path: Path | None = Field(None, validation_alias="REFERENCE_DATA_PATH")
    drift_window_size: int = Field(500, validation_alias="DRIFT_WINDOW_SIZE", ge=20, le=100_000)
    drift_min_samples: int = Field(100, validation_alias="DRIFT_MIN_SAMPLES", ge=10)
    drift_check_every: int = Field(50, validation_alias="DRIFT_CHECK_EVERY", ge=1)
    drift_psi_threshold: float = Field(0.2, validation_alias="DRIFT_PSI_THRESHOLD", gt=0)
    drift_p_value: float = Field(0.01, validation_alias="DRIFT_P_VALUE", gt=0, lt=1)

    active_learning_enabled: bool = Field(True, validation_alias="ACTIVE_LEARNING_ENABLED")
    active_learning_dir: Path | None = Field(None, validation_alias="ACTIVE_LEARNING_DIR")
    uncertainty_threshold: float = Field(0.7, validation_alias="UNCERTAINTY_THRESHOLD", gt=0, le=1)
    active_learning_min_confidence: float = Field(0.25, validation_alias="ACTIVE_LEARNING_MIN_CONFIDENCE", ge=0, lt=1)
    active_learning_max_mb: float = Field(1024.0, validation_alias="ACTIVE_LEARNING_MAX_MB", gt=0)
    active_learning_max_per_minute: float = Field(30.0, validation_alias="ACTIVE_LEARNING_MAX_PER_MINUTE", gt=0)
    s3_bucket_name: str | None = Field(None, validation_alias="S3_BUCKET_NAME")
    s3_prefix: str = Field("active-learning", validation_alias="S3_PREFIX")
    s3_endpoint_url: str | None = Field(None, validation_alias="S3_ENDPOINT_URL")

    @field_validator("traffic_split", mode="before")
    @classmethod
    def _parse_split(cls, value: Any) -> Any:
        return parse_split(value) if value not in ("", None) else {"v1": 100.0}

    @field_validator("traffic_split")
    @classmethod
    def _check_split(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - {"v1", "v2"})
        if unknown:
            raise ValueError(f"unknown version(s) {', '.join(unknown)}; the versions are v1 and v2")
        if any(weight < 0 for weight in value.values()) or sum(value.values()) <= 0:
            raise ValueError("weights must be >= 0 and not all 0")
        return {version: weight for version, weight in value.items() if weight > 0}

    @model_validator(mode="after")
    def _paths(self) -> DetectorSettings:
        if self.reference_data_path is None:
            self.reference_data_path = self.data_dir / "reference_features.json"
        if self.active_learning_dir is None:
            self.active_learning_dir = self.data_dir / "active_learning"
        return self

    @property
    def observe_confidence(self) -> float:
        """The lowest score the model is asked for: what drift and active learning look at
        does not depend on each caller's ``conf_threshold``."""
        return min(self.active_learning_min_confidence, self.confidence)
