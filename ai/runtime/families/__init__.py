"""Adapter families: one file per kind of model, registered by name.

A family knows where its weights sit in a folder, how to write tiny demo weights in
its real on-disk format, how to load onto a device, which tasks it serves, how to run
one forward pass over a batch (``run_batch``), and how to let go. Its typed options
class checks the catalog row's ``options`` table. The catalog names a family per
model; endpoints turn raw family outputs into their contract. Family modules in this
package are discovered on first lookup.
"""

from __future__ import annotations

import importlib
import pkgutil
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from ai.runtime.backends import BackendOptions
from ai.runtime.catalog import CatalogEntry, CatalogError
from ai.runtime.device import DeviceInfo
from ai.runtime.families.tasks import Task

_REGISTRY: dict[str, type[ModelAdapter]] = {}
_discovered = False


class FamilyOptions(BaseModel):
    """A family's typed ``[models.<name>.options]``; an unknown key is an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelAdapter(ABC):
    """Loads and runs one model of a family; one instance per loaded model."""

    family: ClassVar[str]
    tasks: ClassVar[frozenset[Task]]
    options_type: ClassVar[type[FamilyOptions]] = FamilyOptions
    backend: str = "pytorch"

    def __init__(self, entry: CatalogEntry, weights: Path, device: DeviceInfo, backend_options: BackendOptions) -> None:
        self.entry = entry
        self.weights = weights
        self.device = device
        self.backend_options = backend_options
        self.options = self.options_of(entry)

    @classmethod
    def options_of(cls, entry: CatalogEntry) -> Any:
        """``entry.options`` checked by this family's options class."""
        try:
            return cls.options_type.model_validate(entry.options)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise CatalogError(
                f"catalog row {entry.name!r}: [models.{entry.name}.options] does not fit family {cls.family}: "
                f"{problems} (accepted: {', '.join(cls.options_type.model_fields) or 'none'})"
            ) from exc

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

    @abstractmethod
    def run_batch(self, inputs: list[Any]) -> list[Any]:
        """One forward pass over ``inputs`` (blocking; an inference thread): one output
        per input, in order, each as its :class:`Task` describes."""

    def unload(self) -> None:
        """Drop every reference to model memory; the manager collects garbage after."""
        for name in list(vars(self)):
            if name not in {"entry", "weights", "device", "options", "backend_options", "backend"}:
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


def families_for(task: Task) -> list[str]:
    """Names of the registered families that serve ``task`` (for error messages)."""
    _discover()
    return sorted(name for name, cls in _REGISTRY.items() if task in cls.tasks)
