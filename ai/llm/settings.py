"""Settings of the LLM launcher: the specification's variables, passed to llama-server."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class LlmSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, case_sensitive=False)

    model_path: Path | None = Field(None, validation_alias="MODEL_PATH")  # else the catalog row's weights
    ai_models_path: Path = Field(Path("/models"), validation_alias="AI_MODELS_PATH")
    host: str = Field("0.0.0.0", validation_alias="HOST")
    port: int = Field(8091, validation_alias="PORT", ge=1, le=65535)
    gpu_layers: int = Field(35, validation_alias="GPU_LAYERS", ge=0)
    ctx_size: int = Field(4096, validation_alias="CTX_SIZE", ge=256)
    parallel: int = Field(2, validation_alias="LLM_PARALLEL", ge=1, le=64)  # request slots (context is split)
    threads: int = Field(0, validation_alias="LLM_THREADS", ge=0)  # 0: llama-server's own choice
    api_key: SecretStr | None = Field(None, validation_alias="LLM_API_KEY")
    alias: str = Field("nemotron", validation_alias="LLM_MODEL_ALIAS")  # the model name clients send
    server_bin: Path | None = Field(None, validation_alias="LLAMA_SERVER_BIN")
    # llama-server's log threshold: 1 errors, 2 warnings, 3 a few lines per request, 4 debug.
    log_verbosity: int = Field(2, validation_alias="LLM_LOG_VERBOSITY", ge=0, le=4)
    health_timeout_s: float = Field(600.0, validation_alias="LLM_HEALTH_TIMEOUT_SECONDS", gt=0)
