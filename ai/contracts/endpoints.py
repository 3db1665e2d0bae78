"""An endpoint of a model service as both sides see it: its path, the catalog model it
runs, and what goes in and comes out. Services bind behaviour to it; the backend's
client calls it. Declared once, so a path or model name cannot drift between them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel


@dataclass(frozen=True)
class Endpoint:
    path: str
    request: type[BaseModel]
    response: Any = None  # a response model, or a union of them
    model: str | None = None  # the catalog model it runs; None when it runs several
    summary: str = ""
