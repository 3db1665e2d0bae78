"""The field every model answer carries: how long the model(s) took."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Timed(BaseModel):
    inference_time_ms: float = Field(description="Time spent in the model(s), milliseconds")
