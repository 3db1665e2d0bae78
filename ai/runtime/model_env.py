"""Per-model variables, named from the catalog's ``env_key``.

``<KEY>_MODEL_PATH``, ``<KEY>_USE_TENSORRT``, ``<KEY>_BACKEND``, ``<KEY>_MAX_BATCH_SIZE``
and ``<KEY>_MAX_QUEUE_DELAY_MS``, for every service. A bad value stops the service
at start-up with a message naming its variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, Field, ValidationError

from ai.runtime.catalog import BatchLimits, CatalogEntry
from ai.runtime.errors import StartupError

Backend = Literal["auto", "pytorch", "onnxruntime", "tensorrt"]
M = TypeVar("M", bound=BaseModel)


class ModelEnv(BaseModel):
    model_path: Path | None = None
    use_tensorrt: bool = True
    backend: Backend = "auto"
    max_batch_size: int | None = Field(None, ge=1, le=256)
    max_queue_delay_ms: float | None = Field(None, ge=0, le=1000)

    def batch_limits(self, entry: CatalogEntry, is_cuda: bool) -> BatchLimits:
        """The catalog's limits for this device, with the variables' overrides."""
        limits = entry.batching.for_device(is_cuda)
        overrides = {"max_batch_size": self.max_batch_size, "max_queue_delay_ms": self.max_queue_delay_ms}
        return limits.model_copy(update={k: v for k, v in overrides.items() if v is not None})


def read_model_variables(
    entry: CatalogEntry,
    schema: type[M],
    variables: Mapping[str, str],
    defaults: Mapping[str, object] | None = None,
    environ: Mapping[str, str] | None = None,
    lowercase: frozenset[str] = frozenset(),
) -> M:
    """Fill ``schema``'s fields from ``variables`` (field -> variable name) where set;
    values of the ``lowercase`` fields are read case-insensitively."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = dict(defaults or {})
    for field, variable in variables.items():
        raw = env.get(variable, "").strip()
        if raw:
            values[field] = raw.lower() if field in lowercase else raw
    try:
        return schema.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(f"{variables[str(err['loc'][0])]}: {err['msg']}" for err in exc.errors())
        raise StartupError(f"invalid setting for {entry.name}: {problems}") from exc


def path_variable_set(entry: CatalogEntry, environ: Mapping[str, str] | None = None) -> str | None:
    """Which of the entry's path variables is set (``<KEY>_MODEL_PATH`` or an alias);
    two set to different paths stop the service, naming both."""
    env = os.environ if environ is None else environ
    named = [entry.path_variable, *entry.path_aliases]
    found = {name: env[name].strip() for name in named if env.get(name, "").strip()}
    if len(set(found.values())) > 1:
        listed = ", ".join(f"{name}={value}" for name, value in found.items())
        raise StartupError(f"{entry.name}: its weights are named twice, differently ({listed}); set one of them")
    return next(iter(found), None)


def model_env(entry: CatalogEntry, environ: Mapping[str, str] | None = None) -> ModelEnv:
    """The per-model variables of ``entry``."""
    key = entry.env_key
    variables = {
        "model_path": path_variable_set(entry, environ) or entry.path_variable,
        "use_tensorrt": f"{key}_USE_TENSORRT",
        "backend": f"{key}_BACKEND",
        "max_batch_size": f"{key}_MAX_BATCH_SIZE",
        "max_queue_delay_ms": f"{key}_MAX_QUEUE_DELAY_MS",
    }
    return read_model_variables(entry, ModelEnv, variables, environ=environ, lowercase=frozenset({"backend"}))
