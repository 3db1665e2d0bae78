"""The enrichment tier's view of the catalog: which role hosts each model, and what
switches it on. Torch-free and read by both enrichment roles and the backend's
router, so one ``.env`` moves a model on both sides at once."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ai.runtime.catalog import CatalogEntry, entries_for_service
from ai.runtime.model_env import read_model_variables

Role = Literal["light", "heavy"]
SERVICE = "enrichment"


class EnrichmentEntry(CatalogEntry):
    """An enrichment catalog row: the common fields plus the enrichment ones, nothing else."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Role = Field(description="The default role; ENRICHMENT_<KEY>_SERVICE moves it")
    triggers: list[str] = Field(default_factory=list, description='Detection labels that trigger it ("*" = any)')
    option: str = Field(description="The /enrich option that switches this model on or off")
    default_on: bool = True

    @property
    def routing_variable(self) -> str:
        return f"ENRICHMENT_{self.env_key}_SERVICE"


class _Routing(BaseModel):
    role: Role


@cache
def enrichment_entries() -> dict[str, EnrichmentEntry]:
    """The enrichment rows of the catalog, checked as such."""
    return {name: entry.typed(EnrichmentEntry) for name, entry in entries_for_service(SERVICE).items()}


def role_of(entry: EnrichmentEntry, environ: Mapping[str, str] | None = None) -> Role:
    """``light`` or ``heavy``: ``ENRICHMENT_<KEY>_SERVICE``, else the catalog's role."""
    routing = read_model_variables(
        entry,
        _Routing,
        {"role": entry.routing_variable},
        defaults={"role": entry.role},
        environ=environ,
        lowercase=frozenset({"role"}),
    )
    return routing.role


def routing_table(environ: Mapping[str, str] | None = None) -> dict[str, Role]:
    """Which role hosts each enrichment model, from the environment."""
    return {name: role_of(entry, environ) for name, entry in enrichment_entries().items()}
