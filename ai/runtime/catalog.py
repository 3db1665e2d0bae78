"""The model catalog (``ai/catalog.toml``) as typed entries."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from ai.runtime.model_state import Priority

CATALOG_PATH = Path(__file__).resolve().parent.parent / "catalog.toml"

Role = Literal["light", "heavy"]


class CatalogEntry(BaseModel):
    """One model the fleet knows how to host."""

    name: str
    display_name: str
    category: str
    family: str
    source: str
    vram_mb: float = Field(gt=0)
    priority: Literal["CRITICAL", "HIGH", "MEDIUM", "LOW"]
    service: str
    role: Role | None = None
    env_key: str
    triggers: list[str] = Field(default_factory=list)
    option: str = Field(description="The /enrich option that switches this model on or off")
    default_on: bool = True
    license: str
    keep_alive_s: float | None = None
    labels: list[str] = Field(default_factory=list, description="Class names the demo weights are written with")

    @property
    def priority_level(self) -> Priority:
        return Priority[self.priority]

    @property
    def routing_variable(self) -> str:
        return f"ENRICHMENT_{self.env_key}_SERVICE"

    @property
    def path_variable(self) -> str:
        return f"{self.env_key}_MODEL_PATH"

    @property
    def source_kind(self) -> str:
        return self.source.split(":", 1)[0]

    @property
    def source_ref(self) -> str:
        return self.source.split(":", 1)[1]


def parse_catalog(text: str) -> dict[str, CatalogEntry]:
    data = tomllib.loads(text)
    return {name: CatalogEntry(name=name, **fields) for name, fields in data.get("models", {}).items()}


@cache
def load_catalog(path: Path = CATALOG_PATH) -> dict[str, CatalogEntry]:
    """All catalog entries by config name (cached; the file ships with the code)."""
    return parse_catalog(path.read_text(encoding="utf-8"))


def entries_for_service(service: str) -> list[CatalogEntry]:
    return [e for e in load_catalog().values() if e.service == service]
