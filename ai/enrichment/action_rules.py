"""What the action recognizer's scores mean: the top action, and whether it is one a
home-security camera should flag. Pure rules on hand-made scores."""

from __future__ import annotations

from ai.contracts.enrichment_detail import ActionResult, LabelScore
from ai.runtime.families.tasks import Classification

# Of the default action list (ai/runtime/families/hf_xclip.py): what someone casing or
# breaking into a home does, and violence.
SUSPICIOUS_ACTIONS = frozenset(
    {"loitering", "climbing a fence", "looking into a car window", "fighting", "breaking a window", "crouching"}
)


def action_result(classification: Classification, frames: int) -> ActionResult:
    ranked = classification.ranked()
    action, confidence = ranked[0]
    return ActionResult(
        action=action,
        confidence=round(confidence, 4),
        scores=[LabelScore(label=label, score=round(p, 4)) for label, p in ranked[:5]],
        is_suspicious=action in SUSPICIOUS_ACTIONS,
        frames_used=frames,
    )
