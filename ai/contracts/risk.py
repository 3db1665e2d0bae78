"""The LLM's risk assessment of one camera frame: the JSON it must answer with, as a
pydantic model the backend validates with and as the JSON schema the llama.cpp server
turns into a grammar. Torch-free.

Levels follow the score in fixed bands, so an event's level and score never disagree:
low 0-29, medium 30-59, high 60-84, critical 85-100. The schema offers one branch per
band (``anyOf``), so a grammar-constrained model can only pair a level with a score in
its band; the validator checks the same for any other server.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

RiskLevel = Literal["low", "medium", "high", "critical"]

# Inclusive score bands per level.
RISK_BANDS: dict[str, tuple[int, int]] = {"low": (0, 29), "medium": (30, 59), "high": (60, 84), "critical": (85, 100)}
MAX_REASONING = 600
MAX_FACTORS = 8
MAX_FACTOR = 120


def level_for(score: int) -> str:
    """The level whose band holds ``score`` (0-100)."""
    for level, (low, high) in RISK_BANDS.items():
        if low <= score <= high:
            return level
    raise ValueError(f"risk_score {score} is outside 0-100")


class RiskAssessment(BaseModel):
    """What the model answers; anything else (extra keys, a level outside its score's
    band, text over the bounds) is refused and repaired once."""

    model_config = ConfigDict(extra="forbid")

    risk_score: int = Field(ge=0, le=100, description="0 (nothing of note) to 100 (act now)")
    risk_level: RiskLevel = Field(description="low 0-29, medium 30-59, high 60-84, critical 85-100")
    reasoning: str = Field(min_length=1, max_length=MAX_REASONING, description="Why, in a sentence or two")
    factors: list[str] = Field(default_factory=list, max_length=MAX_FACTORS, description="What raised or lowered it")

    @model_validator(mode="after")
    def _level_fits_score(self) -> RiskAssessment:
        expected = level_for(self.risk_score)
        if self.risk_level != expected:
            low, high = RISK_BANDS[self.risk_level]
            raise ValueError(
                f"risk_level {self.risk_level!r} needs a risk_score of {low}-{high}; {self.risk_score} is {expected!r}"
            )
        if any(not 1 <= len(f) <= MAX_FACTOR for f in self.factors):
            raise ValueError(f"each factor is 1 to {MAX_FACTOR} characters")
        return self


def risk_json_schema() -> dict[str, Any]:
    """The answer's JSON schema, one branch per level with its score band: what
    ``response_format`` sends, and so the grammar the server constrains sampling with."""
    text = {"type": "string", "minLength": 1, "maxLength": MAX_REASONING}
    factors = {
        "type": "array",
        "items": {"type": "string", "minLength": 1, "maxLength": MAX_FACTOR},
        "maxItems": MAX_FACTORS,
    }
    return {
        "anyOf": [
            {
                "type": "object",
                "properties": {
                    "risk_score": {"type": "integer", "minimum": low, "maximum": high},
                    "risk_level": {"const": level},
                    "reasoning": text,
                    "factors": factors,
                },
                "required": ["risk_score", "risk_level", "reasoning", "factors"],
                "additionalProperties": False,
            }
            for level, (low, high) in RISK_BANDS.items()
        ]
    }
