"""Security variables every HTTP service of the fleet understands (all in .env.example)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings

from ai.runtime.csv_values import CsvList


class SecuritySettings(BaseSettings):
    auth_enabled: Literal["auto", "true", "false"] = Field(
        "auto", validation_alias="AUTH_ENABLED", description="auto: required as soon as any key is configured"
    )
    api_keys_file: Path | None = Field(None, validation_alias="API_KEYS_FILE")
    api_keys: str = Field("", validation_alias="API_KEYS", description="name:sha256-hash[:scope+scope], ...")
    auth_allow_loopback: bool = Field(False, validation_alias="AUTH_ALLOW_LOOPBACK")
    ip_allowlist: CsvList = Field(default_factory=list, validation_alias="IP_ALLOWLIST")
    trusted_proxies: CsvList = Field(default_factory=list, validation_alias="TRUSTED_PROXIES")
    rate_limit_per_minute: float = Field(0.0, validation_alias="RATE_LIMIT_PER_MINUTE", ge=0)
    rate_limit_burst: int = Field(20, validation_alias="RATE_LIMIT_BURST", ge=1)
    cors_allow_origins: CsvList = Field(default_factory=list, validation_alias="CORS_ALLOW_ORIGINS")
