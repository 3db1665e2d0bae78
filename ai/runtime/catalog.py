"""The model catalog as typed entries: one ``catalog.toml`` per service folder.

``ai/<service>/catalog.toml`` holds that service's rows; the folder names the
service. Every row carries the common fields below, which the runtime needs to host
any model. Fields that only one service understands (the enrichment tier's role,
triggers and options) stay on the row as extras, and that service validates them
with its own subclass (:meth:`CatalogEntry.typed`), so the runtime knows no
service's vocabulary. Torch-free: the backend reads the catalog too.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ai.runtime.errors import StartupError
from ai.runtime.model_state import BatchLimits, Priority

AI_ROOT = Path(__file__).resolve().parent.parent

M = TypeVar("M", bound=BaseModel)

COMMON_REQUIRED = ("family", "source", "vram_mb", "priority", "license", "batching")


class CatalogError(StartupError):
    """A catalog row that cannot be used; the message names the file, the row and the fix."""


class BatchOverride(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_batch_size: int | None = Field(None, ge=1, le=256)
    max_queue_delay_ms: float | None = Field(None, ge=0, le=1000)


class Batching(BatchLimits):
    """The catalog's batching: the limits, and optionally other limits on the CPU."""

    cpu: BatchOverride | None = Field(None, description="What differs on the CPU (measured in docs/benchmarks.md)")

    def for_device(self, is_cuda: bool) -> BatchLimits:
        base = BatchLimits(max_batch_size=self.max_batch_size, max_queue_delay_ms=self.max_queue_delay_ms)
        if is_cuda or self.cpu is None:
            return base
        return base.model_copy(update=self.cpu.model_dump(exclude_none=True))


class CatalogEntry(BaseModel):
    """One model a service knows how to host: the fields every service's rows have."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: str
    service: str
    family: str = Field(description="Adapter family (ai/runtime/families/) that loads and runs it")
    source: str = Field(description="hf:<repo> | ultralytics:<asset> | torchreid:<name> | package:<name>")
    vram_mb: float = Field(gt=0, description="Estimated memory; the measured figure replaces it at run time")
    priority: Literal["CRITICAL", "HIGH", "MEDIUM", "LOW"]
    license: str
    batching: Batching
    display_name: str = ""
    category: str = "other"
    env_key: str = Field("", description="Names <KEY>_MODEL_PATH, <KEY>_BACKEND, ...; default: the name in capitals")
    options: dict[str, Any] = Field(default_factory=dict, description="Validated by the family's own options class")
    keep_alive_s: float | None = None
    labels: list[str] = Field(default_factory=list, description="Class names the demo weights are written with")
    path_aliases: list[str] = Field(
        default_factory=list, description="Other variables that name the weights (a specification's own names)"
    )
    isolation: Literal["thread", "process"] = Field(
        "thread",
        description="process: the model runs in a worker process that exits when it unloads (keep_alive_s is its "
        "idle timeout), returning all its memory; thread: in the service's own process",
    )

    @model_validator(mode="after")
    def _defaults(self) -> CatalogEntry:
        if not self.display_name:
            object.__setattr__(self, "display_name", self.name)
        if not self.env_key:
            object.__setattr__(self, "env_key", self.name.upper())
        return self

    @property
    def priority_level(self) -> Priority:
        return Priority[self.priority]

    @property
    def path_variable(self) -> str:
        return f"{self.env_key}_MODEL_PATH"

    @property
    def source_kind(self) -> str:
        return self.source.split(":", 1)[0]

    @property
    def source_ref(self) -> str:
        return self.source.split(":", 1)[1]

    def typed(self, schema: type[M]) -> M:
        """This row as ``schema``: a service's subclass that types (and so checks) its extra fields."""
        try:
            return schema.model_validate(self.model_dump())
        except ValidationError as exc:
            raise CatalogError(f"catalog row {self.name!r} ({self.service}): {_problems(exc)}") from exc


class StrictEntry(CatalogEntry):
    """A row of a service that has no fields of its own: anything extra is a mistake."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'row'}: {err['msg']}" for err in exc.errors())


def parse_catalog(text: str, service: str, source: str = "catalog.toml") -> dict[str, CatalogEntry]:
    """The rows of one service's catalog file; a bad row raises :class:`CatalogError`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{source}: not valid TOML: {exc}") from exc
    entries: dict[str, CatalogEntry] = {}
    for name, fields in data.get("models", {}).items():
        stated = fields.get("service", service)
        if stated != service:
            raise CatalogError(
                f"{source}: [models.{name}] says service = {stated!r} but the file belongs to {service!r}"
            )
        missing = [f for f in COMMON_REQUIRED if f not in fields]
        if missing:
            raise CatalogError(
                f"{source}: [models.{name}] is missing {', '.join(missing)}; every catalog row needs "
                f"{', '.join(COMMON_REQUIRED)} (see docs/models.md)"
            )
        try:
            entries[name] = CatalogEntry(**{**fields, "name": name, "service": service})
        except ValidationError as exc:
            raise CatalogError(f"{source}: [models.{name}]: {_problems(exc)}") from exc
    return entries


def read_catalog(path: Path, service: str | None = None) -> dict[str, CatalogEntry]:
    """One catalog file; the service is its folder's name unless given."""
    return parse_catalog(path.read_text(encoding="utf-8"), service or path.parent.name, str(path))


@cache
def load_catalog(root: Path = AI_ROOT) -> dict[str, CatalogEntry]:
    """Every service's rows by model name (cached; the files ship with the code)."""
    entries: dict[str, CatalogEntry] = {}
    for path in sorted(root.glob("*/catalog.toml")):
        for name, entry in read_catalog(path).items():
            if name in entries:
                raise CatalogError(f"{path}: model {name!r} is already in the {entries[name].service} catalog")
            entries[name] = entry
    return entries


def entries_for_service(service: str) -> dict[str, CatalogEntry]:
    return {name: e for name, e in load_catalog().items() if e.service == service}
