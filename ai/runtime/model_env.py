"""Per-model variables, named from the catalog's ``env_key``.

``ENRICHMENT_<KEY>_SERVICE`` (light|heavy), ``<KEY>_MODEL_PATH``, ``<KEY>_USE_TENSORRT``
and ``<KEY>_BACKEND``. The enrichment services and the backend router both read the
role through :func:`model_env`, so one ``.env`` moves a model on both sides at once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ValidationError

from ai.runtime.catalog import CatalogEntry

Backend = Literal["auto", "pytorch", "onnxruntime", "tensorrt"]


class ModelEnv(BaseModel):
    role: Literal["light", "heavy"] | None
    model_path: Path | None = None
    use_tensorrt: bool = True
    backend: Backend = "auto"


def model_env(entry: CatalogEntry, environ: Mapping[str, str] | None = None) -> ModelEnv:
    """The per-model variables of ``entry``; a bad value names its variable."""
    env = os.environ if environ is None else environ
    names = {
        "role": entry.routing_variable,
        "model_path": entry.path_variable,
        "use_tensorrt": f"{entry.env_key}_USE_TENSORRT",
        "backend": f"{entry.env_key}_BACKEND",
    }
    values: dict[str, object] = {"role": entry.role}
    for field, variable in names.items():
        raw = env.get(variable, "").strip()
        if raw:
            values[field] = raw.lower() if field in {"role", "backend"} else raw
    try:
        return ModelEnv.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(f"{names[str(err['loc'][0])]}: {err['msg']}" for err in exc.errors())
        raise ValueError(f"invalid setting for {entry.name}: {problems}") from exc
