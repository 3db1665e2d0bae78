"""Where a model's weights are: path variable, then the model zoo, then the HF cache."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ai.runtime.catalog import CatalogEntry
from ai.runtime.families import ModelAdapter, get_family
from ai.runtime.model_env import path_variable_set

DEMO_MARKER = "DEMO_WEIGHTS.json"


@dataclass(frozen=True)
class Resolution:
    """Outcome of looking for one model's weights."""

    path: Path | None
    origin: str  # "path-variable", "model-zoo", "hf-cache" or "missing"
    demo: bool
    message: str | None = None

    @property
    def available(self) -> bool:
        return self.path is not None


def zoo_folder(models_path: Path, name: str) -> Path:
    return models_path / "model-zoo" / name


def is_demo(path: Path) -> bool:
    folder = path if path.is_dir() else path.parent
    return any((p / DEMO_MARKER).exists() for p in (folder, *list(folder.parents)[:2]))


def mark_demo(folder: Path, entry: CatalogEntry) -> None:
    """Label a folder as holding demo weights (random, not for real use)."""
    note = {
        "model": entry.name,
        "family": entry.family,
        "created_at": datetime.now(UTC).isoformat(),
        "note": "tiny randomly initialised weights for demos and tests; outputs are meaningless. "
        f"Real weights: python -m ai.models pull {entry.name}",
    }
    (folder / DEMO_MARKER).write_text(json.dumps(note, indent=2), encoding="utf-8")


def pull_hint(entry: CatalogEntry) -> str:
    return (
        f"run `python -m ai.models pull {entry.name}` (or `python -m ai.models make-demo {entry.name}` "
        "for demo weights)"
    )


def _hf_snapshot(repo_id: str, hf_home: Path | None) -> Path | None:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    cache_dir = (hf_home / "hub") if hf_home else None
    try:
        return Path(snapshot_download(repo_id, local_files_only=True, cache_dir=cache_dir))
    except (LocalEntryNotFoundError, FileNotFoundError, OSError, ValueError):
        return None


def resolve_weights(
    entry: CatalogEntry, models_path: Path, hf_home: Path | None = None, override: Path | None = None
) -> Resolution:
    """Find ``entry``'s weights without touching the network.

    ``override`` is the model's path variable (``<KEY>_MODEL_PATH``) when set.
    """
    family = get_family(entry.family)
    if family is None:
        return Resolution(None, "missing", False, f"adapter family {entry.family!r} is not part of this build")
    if override:
        found = _find(family, Path(override))
        if found is None:
            return Resolution(
                None,
                "missing",
                False,
                f"{path_variable_set(entry) or entry.path_variable}={override} holds no {entry.family} weights",
            )
        return Resolution(found, "path-variable", is_demo(found))
    folder = zoo_folder(models_path, entry.name)
    found = _find(family, folder)
    if found is not None:
        return Resolution(found, "model-zoo", is_demo(found))
    if entry.source_kind == "hf":
        snapshot = _hf_snapshot(entry.source_ref, hf_home)
        found = _find(family, snapshot) if snapshot else None
        if found is not None:
            return Resolution(found, "hf-cache", False)
    return Resolution(
        None,
        "missing",
        False,
        f"weights for {entry.name} not found in {folder} or the Hugging Face cache; {pull_hint(entry)}",
    )


def _find(family: type[ModelAdapter], path: Path) -> Path | None:
    if path.is_file():
        return path
    if path.is_dir():
        return family.find_weights(path)
    return None
