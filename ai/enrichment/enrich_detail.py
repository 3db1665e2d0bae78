"""The ``/enrich`` enrichments that describe a detection in detail: clothing (zero-shot
and segmented), the action over the request's frames, vehicle damage, licence plates and
open-vocabulary boxes. Each runs its model once over every crop that wants it."""

from __future__ import annotations

from ai.contracts.enrichment import ModelError
from ai.contracts.enrichment_detail import PlateResult
from ai.enrichment.action_rules import action_result
from ai.enrichment.clothing import clothing_from, segments_result
from ai.enrichment.damage import MAX_DAMAGES, damage_from
from ai.enrichment.enrich_frame import Enrichment, Frame, Target, per_crop
from ai.enrichment.frames import crop_clip
from ai.enrichment.open_vocab import MAX_BOXES, open_vocab_result
from ai.enrichment.plates import DETECTOR, MAX_PLATES, READER, plate_crops, reads
from ai.runtime.families.tasks import DetectInput, Detection, FramesInput, Task


async def _action(frame: Frame, targets: list[Target]) -> None:
    """The clip of each target: its box cut out of every earlier frame, then its crop."""
    if not frame.earlier:
        for target in targets:
            target.skipped["action_recognizer"] = "needs `frames`: the earlier frames of the clip, oldest first"
        return
    size = frame.image.size
    clips = [FramesInput([*crop_clip(frame.earlier, t.box, size), t.crop]) for t in targets]
    outputs = await frame.infer("action_recognizer", clips, targets)
    for target, clip, output in zip(targets, clips, outputs, strict=True):
        if output is not None:
            result = frame.finish("action_recognizer", target, action_result, output, len(clip.frames))
            if result is not None:
                target.fields["action"] = result


async def _plates(frame: Frame, targets: list[Target]) -> None:
    """Plates found in each vehicle crop (the detector, where hosted here), all read in
    one pass; without the detector here, the text of each whole vehicle crop is read."""
    settings = frame.settings
    owners: list[Target] = []
    crops = []
    boxes: list[Detection | None] = []
    readable = list(targets)
    if DETECTOR in frame.hosted:
        found = await frame.infer(
            DETECTOR, [DetectInput(t.crop, settings.plate_confidence, MAX_PLATES) for t in targets], targets
        )
        readable = []
        for target, plates in zip(targets, found, strict=True):
            if plates is None:
                failure = target.errors[DETECTOR]
                target.errors[READER] = ModelError(code=failure.code, message=f"no plates: {failure.message}")
                continue
            readable.append(target)
            for crop, plate in plate_crops(target.crop, plates):
                owners.append(target)
                crops.append(crop)
                boxes.append(plate)
    else:
        owners, crops, boxes = list(targets), [t.crop for t in targets], [None] * len(targets)
    lines = await frame.infer(READER, crops, owners) if crops else []
    for target in readable:
        mine = [i for i, owner in enumerate(owners) if owner is target]
        if any(lines[i] is None for i in mine):
            continue  # the reader's error is recorded on the target
        if not mine:
            target.skipped.setdefault(READER, "no licence plate found on the vehicle")
            target.fields["plates"] = PlateResult(plates=[])
            continue
        chosen = [lines[i] for i in mine]
        plates = frame.finish(READER, target, reads, chosen, [boxes[i] for i in mine], target.offset, target.crop.size)
        if plates is not None:
            target.fields["plates"] = PlateResult(plates=plates)
            target.skipped.pop(READER, None)


DETAIL_ENRICHERS: dict[str, Enrichment] = {
    "clothing": per_crop(
        "clothing",
        "clothing_classifier",
        Task.CLASSIFY,
        lambda t, _s: t.crop,
        lambda t, out, _s: clothing_from(out, t.crop, t.night),
    ),
    "clothing_segments": per_crop(
        "clothing_segments",
        "clothing_segmenter",
        Task.SEGMENT,
        lambda t, _s: t.crop,
        lambda t, out, _s: segments_result(out, t.crop, t.offset),
    ),
    "action": Enrichment({"action_recognizer": Task.CLASSIFY_FRAMES}, _action),
    "vehicle_damage": per_crop(
        "vehicle_damage",
        "vehicle_damage",
        Task.DETECT,
        lambda t, s: DetectInput(t.crop, s.damage_confidence, MAX_DAMAGES),
        lambda t, out, _s: damage_from(out, t.offset, t.night),
    ),
    "plates": Enrichment({READER: Task.READ_TEXT, DETECTOR: Task.DETECT}, _plates),
    "open_vocab": per_crop(
        "open_vocab",
        "open_vocab_detector",
        Task.DETECT,
        lambda t, s: DetectInput(t.crop, s.open_vocab_confidence, MAX_BOXES),
        lambda t, out, _s: open_vocab_result(out, t.offset),
    ),
}
