"""Adapter families: one file per kind of model, registered by name.

A family knows where its weights sit in a folder, how to write tiny demo weights in
its real on-disk format, how to load onto a device, how to run a batch, and how to
let go. The catalog names a family per model; services turn raw family outputs into
their contract. Family modules in this package are discovered on first lookup.
"""

from __future__ import annotations

import importlib
import pkgutil
from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

from ai.runtime.backends import AdapterOptions
from ai.runtime.catalog import CatalogEntry
from ai.runtime.device import DeviceInfo

_REGISTRY: dict[str, type[ModelAdapter]] = {}
_discovered = False


class ModelAdapter(ABC):
    """Loads and runs one model of a family; one instance per loaded model."""

    family: ClassVar[str]
    backend: str = "pytorch"

    def __init__(self, entry: CatalogEntry, weights: Path, device: DeviceInfo, options: AdapterOptions) -> None:
        self.entry = entry
        self.weights = weights
        self.device = device
        self.options = options

    @classmethod
    @abstractmethod
    def find_weights(cls, folder: Path) -> Path | None:
        """The weights file or folder inside ``folder``, or None if absent."""

    @classmethod
    @abstractmethod
    def write_demo(cls, folder: Path, entry: CatalogEntry) -> None:
        """Write tiny randomly initialised weights in the family's real format."""

    @classmethod
    @abstractmethod
    def prepare(cls, device: DeviceInfo) -> None:
        """Import the libraries this family needs (kept out of memory measurement)."""

    @abstractmethod
    def load(self) -> None:
        """Read the weights onto the device (blocking; runs on the loader thread)."""

    def unload(self) -> None:
        """Drop every reference to model memory; the manager collects garbage after."""
        for name in list(vars(self)):
            if name not in {"entry", "weights", "device", "options", "backend"}:
                setattr(self, name, None)


def first_match(folder: Path, patterns: tuple[str, ...]) -> Path | None:
    """The first file matching the patterns, in pattern order (sorted within one)."""
    for pattern in patterns:
        found = sorted(folder.glob(pattern))
        if found:
            return found[0]
    return None


def register_family(cls: type[ModelAdapter]) -> type[ModelAdapter]:
    """Class decorator: make a family findable by its ``family`` name."""
    _REGISTRY[cls.family] = cls
    return cls


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    _discovered = True
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


def get_family(name: str) -> type[ModelAdapter] | None:
    _discover()
    return _REGISTRY.get(name)
