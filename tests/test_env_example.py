"""Every environment variable the code reads is listed (and explained) in .env.example."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from ai.clip.settings import ClipSettings
from ai.contracts.enrichment_catalog import enrichment_entries
from ai.detector.settings import DetectorSettings
from ai.enrichment.settings import EnrichmentSettings
from ai.florence.settings import FlorenceSettings
from ai.llm.settings import LlmSettings
from ai.runtime.catalog import load_catalog
from ai.runtime.settings import RuntimeSettings
from backend.settings import BackendSettings

ROOT = Path(__file__).resolve().parent.parent
SETTINGS: list[type[BaseSettings]] = [
    RuntimeSettings,
    EnrichmentSettings,
    DetectorSettings,
    FlorenceSettings,
    ClipSettings,
    LlmSettings,
    BackendSettings,
]
READS = re.compile(
    r"""(?:environ\.get|environ\.setdefault|getenv|env\.get)\(\s*["']([A-Z][A-Z0-9_]+)["']"""
    r"""|environ\[\s*["']([A-Z][A-Z0-9_]+)["']\s*\]"""
)


def documented() -> set[str]:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))


def settings_variables() -> set[str]:
    names: set[str] = set()
    for settings in SETTINGS:
        for field in settings.model_fields.values():
            alias = field.validation_alias
            if isinstance(alias, str):
                names.add(alias)
            elif isinstance(alias, AliasChoices):
                names.update(str(choice) for choice in alias.choices)
    return names


def source_variables() -> set[str]:
    names: set[str] = set()
    for folder in ("ai", "backend"):
        for path in (ROOT / folder).rglob("*.py"):
            for match in READS.finditer(path.read_text(encoding="utf-8")):
                names.add(match.group(1) or match.group(2))
    return names


def per_model_variables() -> set[str]:
    names: set[str] = set()
    for entry in load_catalog().values():
        names |= {entry.path_variable, *entry.path_aliases}
        if entry.service != "llm":  # llama-server runs it: the runtime's per-model knobs do not apply
            names |= {
                f"{entry.env_key}_{suffix}"
                for suffix in ("BACKEND", "USE_TENSORRT", "MAX_BATCH_SIZE", "MAX_QUEUE_DELAY_MS")
            }
    return names | {entry.routing_variable for entry in enrichment_entries().values()}


def test_every_settings_variable_is_documented() -> None:
    missing = settings_variables() - documented()
    assert not missing, f"add to .env.example: {sorted(missing)}"


def test_every_variable_read_in_the_source_is_documented() -> None:
    missing = source_variables() - documented()
    assert not missing, f"add to .env.example: {sorted(missing)}"


def test_every_per_model_variable_is_documented() -> None:
    missing = per_model_variables() - documented()
    assert not missing, f"add to .env.example: {sorted(missing)}"


def test_the_scan_finds_what_it_should() -> None:
    """Guard against a regex that silently finds nothing."""
    assert {"ENRICHMENT_LIGHT_PORT", "YOLO_CONFIG_DIR"} <= source_variables()
    assert {"VRAM_BUDGET_MB", "ENRICHMENT_ROLE", "ENRICHMENT_PRELOAD_MODELS", "DATABASE_URL"} <= settings_variables()
