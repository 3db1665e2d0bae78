"""The risk prompt on hand-made frames: everything the LLM should weigh is in it, in a
fixed order, and the same frame always gives the same text."""

from __future__ import annotations

from backend.risk.prompt import SYSTEM, EntityNote, FrameFacts, SeenObject, frame_prompt, repair_messages, risk_messages

NIGHT = 1796167800.0  # 2026-12-01 23:30:00 UTC


def facts(**changes: object) -> FrameFacts:
    base = {
        "camera_id": "porch",
        "timestamp": NIGHT,
        "image_size": (1280, 720),
        "objects": [SeenObject("det_0", "person", 0.91, (100.4, 80, 60, 200))],
        "enrichment": ["Enrichment of person det_0 (FULL):\n- Weapon: knife (88%), severity high"],
        "caption": "a person at the front door",
        "entities": [
            EntityNote("det_0", "ent_1", "person", False, 3, ("porch", "yard"), NIGHT - 600, 0.95),
        ],
        "missing": [],
    }
    return FrameFacts(**{**base, **changes})  # type: ignore[arg-type]


def test_the_prompt_holds_every_part_in_order() -> None:
    text = frame_prompt(facts())
    parts = [
        "Camera: porch",
        "Time: 2026-12-01 23:30:00 UTC (night)",
        "Frame: 1280x720 pixels",
        "- det_0: person 91% at x=100 y=80 size 60x200",
        "Scene caption: a person at the front door",
        "- Weapon: knife (88%), severity high",
        "- det_0: person ent_1 seen 3 time(s) before on porch, yard, last 10 min ago (similarity 0.95)",
    ]
    positions = [text.index(part) for part in parts]
    assert positions == sorted(positions)
    assert frame_prompt(facts()) == text


def test_daytime_new_entities_empty_frames_and_missing_stages_are_said() -> None:
    text = frame_prompt(
        facts(
            timestamp=NIGHT - 12 * 3600,
            objects=[],
            caption=None,
            enrichment=[],
            entities=[EntityNote("det_0", "ent_2", "vehicle", True, 0, (), None, 1.0)],
            missing=["caption", "enrichment"],
        )
    )
    assert "(day)" in text and "Detections: none" in text and "Scene caption" not in text
    assert "a vehicle not seen before (new entity ent_2)" in text
    assert text.endswith("Not available for this frame: caption, enrichment")


def test_detections_beyond_the_listed_ones_are_counted_by_label() -> None:
    text = frame_prompt(facts(others={"car": 5, "bus": 1}))
    assert "Detections (7):" in text and "- and, less confident: bus x1, car x5" in text


def test_the_system_prompt_states_the_bands_and_the_repair_says_what_was_wrong() -> None:
    assert "low 0-29, medium 30-59, high 60-84, critical 85-100" in SYSTEM
    messages = risk_messages(facts())
    repaired = repair_messages(messages, '{"risk_score": 7', "not JSON (Expecting ',' delimiter)")
    assert repaired[:2] == messages and repaired[2] == {"role": "assistant", "content": '{"risk_score": 7'}
    assert "not JSON (Expecting ',' delimiter)" in repaired[3]["content"]
