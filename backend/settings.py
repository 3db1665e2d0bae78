"""Backend settings, read from environment variables (all in .env.example)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from ai.runtime.settings import CsvList, ServiceSettings


class BackendSettings(ServiceSettings):
    service_name: str = Field("backend", validation_alias="SERVICE_NAME")
    port: int = Field(8000, validation_alias="PORT", ge=1, le=65535)

    detector_url: str = Field("http://ai-yolo26:8095", validation_alias="DETECTOR_URL")
    detector_api_key: SecretStr = Field(SecretStr(""), validation_alias="DETECTOR_API_KEY")
    florence_url: str = Field("http://ai-florence:8092", validation_alias="FLORENCE_URL")
    florence_api_key: SecretStr = Field(SecretStr(""), validation_alias="FLORENCE_API_KEY")
    clip_url: str = Field("http://ai-clip:8093", validation_alias="CLIP_URL")
    clip_api_key: SecretStr = Field(SecretStr(""), validation_alias="CLIP_API_KEY")
    llm_url: str = Field("http://ai-llm:8091", validation_alias="LLM_URL")
    # The key llama-server was started with (its --api-key; the same variable on both sides).
    llm_api_key: SecretStr = Field(SecretStr(""), validation_alias="LLM_API_KEY")
    llm_model: str = Field("nemotron", validation_alias="LLM_MODEL_ALIAS", min_length=1)
    llm_max_tokens: int = Field(1024, validation_alias="LLM_MAX_TOKENS", ge=64, le=32768)
    llm_temperature: float = Field(0.2, validation_alias="LLM_TEMPERATURE", ge=0, le=2)
    llm_read_timeout_s: float = Field(120.0, validation_alias="LLM_READ_TIMEOUT_SECONDS", gt=0)
    llm_deadline_s: float = Field(180.0, validation_alias="LLM_DEADLINE_SECONDS", gt=0)
    enrichment_url: str = Field("http://ai-enrichment:8094", validation_alias="ENRICHMENT_URL")
    enrichment_light_url: str = Field("http://ai-enrichment-light:8096", validation_alias="ENRICHMENT_LIGHT_URL")
    # Bearer keys the backend presents to each role (empty: no Authorization header).
    enrichment_api_key: SecretStr = Field(SecretStr(""), validation_alias="ENRICHMENT_API_KEY")
    enrichment_light_api_key: SecretStr = Field(SecretStr(""), validation_alias="ENRICHMENT_LIGHT_API_KEY")

    connect_timeout_s: float = Field(2.0, validation_alias="ENRICHMENT_CONNECT_TIMEOUT_SECONDS", gt=0)
    read_timeout_s: float = Field(30.0, validation_alias="ENRICHMENT_READ_TIMEOUT_SECONDS", gt=0)
    deadline_s: float = Field(45.0, validation_alias="ENRICHMENT_DEADLINE_SECONDS", gt=0)
    retry_attempts: int = Field(3, validation_alias="ENRICHMENT_RETRY_ATTEMPTS", ge=1, le=10)
    retry_base_s: float = Field(0.2, validation_alias="ENRICHMENT_RETRY_BASE_SECONDS", ge=0)
    retry_max_s: float = Field(2.0, validation_alias="ENRICHMENT_RETRY_MAX_SECONDS", ge=0)
    breaker_failures: int = Field(5, validation_alias="ENRICHMENT_BREAKER_FAILURES", ge=1)
    breaker_cooldown_s: float = Field(30.0, validation_alias="ENRICHMENT_BREAKER_COOLDOWN_SECONDS", gt=0)
    breaker_half_open_calls: int = Field(3, validation_alias="ENRICHMENT_BREAKER_HALF_OPEN_CALLS", ge=1)
    ready_probe_s: float = Field(1.0, validation_alias="ENRICHMENT_READY_PROBE_SECONDS", ge=0)
    max_concurrency: int = Field(8, validation_alias="ENRICHMENT_MAX_CONCURRENCY", ge=1)
    status_timeout_s: float = Field(3.0, validation_alias="MODEL_STATUS_TIMEOUT_SECONDS", gt=0)

    data_dir: Path = Field(Path("data"), validation_alias="DATA_DIR")
    database_url: str | None = Field(None, validation_alias="DATABASE_URL")
    latency_retention_days: float = Field(7.0, validation_alias="LATENCY_RETENTION_DAYS", gt=0)
    event_retention_days: float = Field(30.0, validation_alias="EVENT_RETENTION_DAYS", gt=0)

    # Entity matching: a person or vehicle crop's CLIP embedding against the entities seen
    # in the window; a camera that saw the entity before matches at the lower threshold.
    entity_same_camera_threshold: float = Field(0.9, validation_alias="ENTITY_MATCH_THRESHOLD", gt=0, le=1)
    entity_cross_camera_threshold: float = Field(0.93, validation_alias="ENTITY_CROSS_CAMERA_THRESHOLD", gt=0, le=1)
    entity_window_hours: float = Field(24.0, validation_alias="ENTITY_WINDOW_HOURS", gt=0)
    pipeline_caption: bool = Field(True, validation_alias="PIPELINE_CAPTION")
    # The most confident detections of a frame that are enriched, matched to entities and
    # listed in the risk prompt (every detection is still stored; the rest are counted).
    pipeline_max_detections: int = Field(16, validation_alias="PIPELINE_MAX_DETECTIONS", ge=1, le=64)

    # The model store the management API lists, downloads into and deletes from: the same
    # folders the model services read (compose mounts them writable here only).
    ai_models_path: Path = Field(Path("/models"), validation_alias="AI_MODELS_PATH")
    hf_home: Path | None = Field(None, validation_alias="HF_HOME")
    model_load_timeout_s: float = Field(300.0, validation_alias="MODEL_LOAD_TIMEOUT_SECONDS", gt=0)

    # POST /api/crawl: Playwright driving Chromium. A crawler fetches what it is told to,
    # so it reaches only public addresses unless CRAWL_ALLOW_PRIVATE, and only the hosts
    # of CRAWL_ALLOWED_HOSTS when that is set ("example.com", "*.example.com").
    crawl_enabled: bool = Field(True, validation_alias="CRAWL_ENABLED")
    crawl_allowed_hosts: CsvList = Field(default_factory=list, validation_alias="CRAWL_ALLOWED_HOSTS")
    crawl_allow_private: bool = Field(False, validation_alias="CRAWL_ALLOW_PRIVATE")
    crawl_chromium_path: Path | None = Field(None, validation_alias="CRAWL_CHROMIUM_PATH")
    crawl_timeout_s: float = Field(30.0, validation_alias="CRAWL_TIMEOUT_SECONDS", gt=0, le=300)
    crawl_max_concurrency: int = Field(2, validation_alias="CRAWL_MAX_CONCURRENCY", ge=1, le=16)
    crawl_max_text_chars: int = Field(200_000, validation_alias="CRAWL_MAX_TEXT_CHARS", ge=1000)

    @property
    def database(self) -> str:
        """``DATABASE_URL``, else a SQLite file in ``DATA_DIR``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'backend.db').resolve()}"

    @property
    def enrichment_urls(self) -> dict[str, str]:
        return {"light": self.enrichment_light_url.rstrip("/"), "heavy": self.enrichment_url.rstrip("/")}

    @property
    def enrichment_api_keys(self) -> dict[str, SecretStr]:
        return {"light": self.enrichment_light_api_key, "heavy": self.enrichment_api_key}

    @property
    def model_service_urls(self) -> dict[str, str]:
        """The single-model services, by their catalog service name (``ai/<name>/catalog.toml``)."""
        return {
            "detector": self.detector_url.rstrip("/"),
            "florence": self.florence_url.rstrip("/"),
            "clip": self.clip_url.rstrip("/"),
        }

    @property
    def model_service_api_keys(self) -> dict[str, SecretStr]:
        return {"detector": self.detector_api_key, "florence": self.florence_api_key, "clip": self.clip_api_key}
