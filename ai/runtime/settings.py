"""Typed settings shared by every service, read once from environment variables.

Each service subclasses :class:`RuntimeSettings` to add its own variables or to
change a default (port, budget). Every variable is listed in ``.env.example``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ai.runtime.csv_values import CsvList, split_csv
from ai.runtime.images import ImageLimits
from ai.runtime.security.settings import SecuritySettings

__all__ = ["CsvList", "RuntimeSettings", "ServiceSettings", "split_csv"]


def parse_name_values(value: Any) -> Any:
    """Turn ``"a=1,b=-1"`` into ``{"a": 1.0, "b": -1.0}`` for per-model overrides."""
    if not isinstance(value, str):
        return value
    result: dict[str, float] = {}
    for part in split_csv(value):
        name, sep, number = part.partition("=")
        if not sep:
            raise ValueError(f"expected name=seconds, got {part!r}")
        result[name.strip()] = float(number)
    return result


class ServiceSettings(SecuritySettings, BaseSettings):
    """Variables every HTTP service of the fleet understands (model services and backend)."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, case_sensitive=False)

    service_name: str = Field("ai-service", validation_alias="SERVICE_NAME")
    host: str = Field("0.0.0.0", validation_alias="HOST")
    port: int = Field(8000, validation_alias="PORT", ge=1, le=65535)
    log_level: str = Field("INFO", validation_alias="LOG_LEVEL")

    pyroscope_enabled: bool = Field(False, validation_alias="PYROSCOPE_ENABLED")
    pyroscope_url: str = Field("http://pyroscope:4040", validation_alias="PYROSCOPE_URL")

    max_request_bytes: int = Field(50 * 1024 * 1024, validation_alias="MAX_REQUEST_BYTES", ge=1024)
    max_image_bytes: int = Field(20 * 1024 * 1024, validation_alias="MAX_IMAGE_BYTES", ge=1024)
    max_image_pixels: int = Field(40_000_000, validation_alias="MAX_IMAGE_PIXELS", ge=64)
    min_image_side: int = Field(8, validation_alias="MIN_IMAGE_SIDE", ge=1)

    @property
    def image_limits(self) -> ImageLimits:
        return ImageLimits(self.max_image_bytes, self.max_image_pixels, self.min_image_side)


class RuntimeSettings(ServiceSettings):
    """Variables every model service understands."""

    ai_models_path: Path = Field(Path("/models"), validation_alias="AI_MODELS_PATH")
    hf_home: Path | None = Field(None, validation_alias="HF_HOME")
    cache_dir: Path = Field(Path.home() / ".cache" / "ai-fleet", validation_alias="CACHE_DIR")
    tensorrt_cache_dir: Path | None = Field(None, validation_alias="TENSORRT_CACHE_DIR")
    offline: bool = Field(True, validation_alias="AI_OFFLINE")

    device: str = Field("auto", validation_alias="DEVICE")
    vram_budget_mb: float | None = Field(None, validation_alias="VRAM_BUDGET_MB", gt=0)
    vram_budget_gb: float | None = Field(None, validation_alias="VRAM_BUDGET_GB", gt=0)
    default_vram_budget_mb: float = 4096.0

    preload_models: CsvList = Field(default_factory=list, validation_alias="PRELOAD_MODELS")
    keep_alive_s: float = Field(300.0, validation_alias="MODEL_KEEP_ALIVE_SECONDS", ge=-1)
    keep_alive_overrides: Annotated[dict[str, float], NoDecode] = Field(
        default_factory=dict, validation_alias="MODEL_KEEP_ALIVE_OVERRIDES"
    )
    load_wait_s: float = Field(10.0, validation_alias="MODEL_LOAD_WAIT_SECONDS", ge=0)
    load_retry_backoff_s: float = Field(30.0, validation_alias="MODEL_LOAD_RETRY_SECONDS", ge=0)
    retry_after_s: int = Field(5, validation_alias="RETRY_AFTER_SECONDS", ge=1)

    inference_workers: int = Field(2, validation_alias="INFERENCE_WORKERS", ge=1)
    max_queued_requests: int = Field(64, validation_alias="MAX_QUEUED_REQUESTS", ge=1)
    torch_threads: int = Field(0, validation_alias="TORCH_THREADS", ge=0)  # 0: fit the CPUs (ai/runtime/threads.py)
    onnxruntime_spinning: bool = Field(False, validation_alias="ONNXRUNTIME_SPINNING")
    # Decoded pixels all requests may hold at once (~3 bytes each, see ai/runtime/admission.py).
    max_inflight_megapixels: float = Field(100.0, validation_alias="MAX_INFLIGHT_MEGAPIXELS", gt=0)
    admission_wait_s: float = Field(5.0, validation_alias="ADMISSION_WAIT_SECONDS", ge=0)

    @field_validator("keep_alive_overrides", mode="before")
    @classmethod
    def _parse_keep_alive(cls, value: Any) -> Any:
        return parse_name_values(value)

    @property
    def budget_mb(self) -> float:
        """Memory budget in MB: ``VRAM_BUDGET_MB`` wins over ``VRAM_BUDGET_GB``."""
        if self.vram_budget_mb is not None:
            return self.vram_budget_mb
        if self.vram_budget_gb is not None:
            return self.vram_budget_gb * 1024.0
        return self.default_vram_budget_mb

    @property
    def model_zoo_path(self) -> Path:
        return self.ai_models_path / "model-zoo"

    @property
    def trt_cache(self) -> Path:
        """Where TensorRT engines are kept (a volume in production: builds take minutes)."""
        return self.tensorrt_cache_dir or self.cache_dir / "tensorrt"

    def keep_alive_for(self, name: str, catalog_default: float | None = None) -> float:
        """Keep-alive of one model: per-model override, then catalog, then global."""
        if name in self.keep_alive_overrides:
            return self.keep_alive_overrides[name]
        if catalog_default is not None:
            return catalog_default
        return self.keep_alive_s
