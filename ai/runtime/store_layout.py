"""Where weights lie on disk, readable without the model stack (the backend lists and
deletes them): the model zoo (``<AI_MODELS_PATH>/model-zoo/<name>/``), the Hugging Face
cache (``<HF_HOME>/hub/models--<org>--<name>/``, the hub's own layout) and the folders
of installed Python packages that ship weights."""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import os
from pathlib import Path

DEMO_MARKER = "DEMO_WEIGHTS.json"
PULLABLE = ("hf", "ultralytics", "torchreid")  # sources a pull fetches; package: ones come with pip


def zoo_folder(models_path: Path, name: str) -> Path:
    return models_path / "model-zoo" / name


def is_demo(path: Path) -> bool:
    folder = path if path.is_dir() else path.parent
    return any((p / DEMO_MARKER).exists() for p in (folder, *list(folder.parents)[:2]))


def hf_hub_cache(hf_home: Path | None) -> Path:
    """The hub cache folder: ``HF_HOME/hub`` when set, else the hub library's own default
    (``HF_HUB_CACHE``, ``$HF_HOME/hub`` from the environment, ``~/.cache/huggingface/hub``)."""
    if hf_home is not None:
        return hf_home / "hub"
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "huggingface")
    return Path(home).expanduser() / "hub"


def hf_repo_folder(hub_cache: Path, repo_id: str) -> Path:
    """``BAAI/bge-large-en-v1.5`` -> ``<hub>/models--BAAI--bge-large-en-v1.5``."""
    return hub_cache / ("models--" + repo_id.replace("/", "--"))


def hf_has_snapshot(repo_folder: Path) -> bool:
    snapshots = repo_folder / "snapshots"
    return snapshots.is_dir() and any(any(s.iterdir()) for s in snapshots.iterdir() if s.is_dir())


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


def folder_bytes(path: Path) -> int:
    """Bytes of the files under ``path`` (a file: its size); links are not followed, so a
    hub snapshot's links to its blobs count once, as blobs."""
    if path.is_symlink():
        return 0
    if path.is_file():
        return path.stat().st_size
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                file = Path(root) / name
                if not file.is_symlink():
                    total += file.stat().st_size
    return total
