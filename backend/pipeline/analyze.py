"""The frame pipeline: a camera frame in, a stored risk event out.

detector -> (enrichment of every detection in one /enrich per service, the Florence-2
caption of the frame, CLIP embeddings of the person and vehicle crops matched against
the entities seen before: concurrently) -> the LLM's risk assessment -> the event
stored. A stage that fails leaves its part of the event empty and says so in
``stages`` and ``missing``; the detections are never lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass, replace

from ai.contracts.clip import EmbedResponse
from ai.contracts.detector import DetectedObject, DetectResponse
from ai.contracts.enrichment import EnrichOptions
from ai.contracts.enrichment_result import FrameDetection, FrameEnrichmentResult, FrameEnrichRequest
from ai.contracts.events import EntitySighting, Event, RiskAnalysis, StageResult
from ai.contracts.florence import CaptionResponse
from backend.clip_client import ClipClient
from backend.detector_client import DetectorClient
from backend.enrichment_client.client import EnrichmentClient
from backend.florence_client import FlorenceClient
from backend.metrics import BackendMetrics
from backend.pipeline.entities import ENTITY_KINDS, Crop, EntityIndex, Match, normalised
from backend.pipeline.stages import StageRunner, failure
from backend.risk.client import RiskClient, RiskOutcome
from backend.risk.prompt import EntityNote, FrameFacts, SeenObject, frame_prompt, is_night
from backend.storage.events import EventStore
from backend.storage.recorder import LatencyRecorder

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Frame:
    """A vetted frame: base64 text as the services take it, and its displayed size."""

    image: str
    camera_id: str
    timestamp: float
    size: tuple[int, int]


def corners(detection: DetectedObject) -> list[float]:
    box = detection.bbox
    return [box.x, box.y, box.x + box.width, box.y + box.height]


def detection_ids(detections: list[DetectedObject]) -> list[str]:
    return [f"det_{i}" for i in range(len(detections))]


class FramePipeline:
    def __init__(
        self,
        detector: DetectorClient,
        enrichment: EnrichmentClient,
        florence: FlorenceClient,
        clip: ClipClient,
        risk: RiskClient,
        store: EventStore,
        index: EntityIndex,
        metrics: BackendMetrics,
        recorder: LatencyRecorder | None = None,
        caption: bool = True,
        max_detections: int = 16,
    ) -> None:
        self.detector, self.enrichment, self.florence, self.clip, self.risk = detector, enrichment, florence, clip, risk
        self.store = store
        self.index = index
        self.metrics = metrics
        self.stages = StageRunner(metrics, recorder)
        self.caption = caption
        self.max_detections = max_detections
        self._entities_lock = asyncio.Lock()

    async def analyze(self, frame: Frame) -> Event:
        started = time.perf_counter()
        stages: dict[str, StageResult] = {}
        found, stages["detector"] = await self.stages.run(
            "detector", self.detector.detect(frame.image, camera_id=frame.camera_id)
        )
        detections = found.detections if found is not None else []
        ids = detection_ids(detections)
        top = sorted(sorted(range(len(detections)), key=lambda i: -detections[i].confidence)[: self.max_detections])
        chosen, chosen_ids = [detections[i] for i in top], [ids[i] for i in top]
        listed = set(top)
        (
            (enriched, stages["enrichment"]),
            (caption, stages["caption"]),
            (matches, stages["entities"]),
        ) = await asyncio.gather(
            self._enrich(frame, chosen, chosen_ids),
            self._caption(frame),
            self._entities(frame, chosen, chosen_ids),
        )
        missing = [name for name, result in stages.items() if result.status in ("failed", "partial")]
        facts = FrameFacts(
            camera_id=frame.camera_id,
            timestamp=frame.timestamp,
            image_size=frame.size,
            objects=[
                SeenObject(i, d.class_name, d.confidence, (d.bbox.x, d.bbox.y, d.bbox.width, d.bbox.height))
                for i, d in zip(chosen_ids, chosen, strict=True)
            ],
            others=Counter(d.class_name for i, d in enumerate(detections) if i not in listed),
            enrichment=[r.context for r in enriched.detections] if enriched is not None else [],
            caption=caption.caption if caption is not None else None,
            entities=[_note(m) for m in matches],
            missing=missing,
        )
        outcome, stages["risk"] = await self._assess(facts)
        if stages["risk"].status == "failed":
            missing.append("risk")
        event = self._event(frame, found, enriched, caption, matches, outcome, facts, stages, missing, started)
        return await self._store(event, matches)

    async def _enrich(
        self, frame: Frame, detections: list[DetectedObject], ids: list[str]
    ) -> tuple[FrameEnrichmentResult | None, StageResult]:
        if not detections:
            return None, self.stages.skipped("no detections")
        request = FrameEnrichRequest(
            image=frame.image,
            options=EnrichOptions(is_night=is_night(frame.timestamp)),
            detections=[
                FrameDetection(detection_id=i, detection_type=d.class_name, bbox=corners(d))
                for i, d in zip(ids, detections, strict=True)
            ],
        )
        return await self.stages.run("enrichment", self.enrichment.enrich_frame(request), _judge_enrichment)

    async def _caption(self, frame: Frame) -> tuple[CaptionResponse | None, StageResult]:
        if not self.caption:
            return None, self.stages.skipped("PIPELINE_CAPTION is off")
        return await self.stages.run("caption", self.florence.caption(frame.image))

    async def _entities(
        self, frame: Frame, detections: list[DetectedObject], ids: list[str]
    ) -> tuple[list[Match], StageResult]:
        wanted = [(i, d) for i, d in zip(ids, detections, strict=True) if d.class_name in ENTITY_KINDS]
        if not wanted:
            return [], self.stages.skipped("no person or vehicle detected")
        started = time.perf_counter()
        answers = await asyncio.gather(
            *(self.clip.embed(frame.image, bbox=corners(d)) for _, d in wanted), return_exceptions=True
        )
        crops = [
            Crop(i, ENTITY_KINDS[d.class_name], normalised(answer.embedding))
            for (i, d), answer in zip(wanted, answers, strict=True)
            if isinstance(answer, EmbedResponse)
        ]
        problems = [failure(a) for a in answers if not isinstance(a, EmbedResponse)]  # type: ignore[arg-type]
        async with self._entities_lock:  # matching reads and moves shared entities
            matches = await asyncio.to_thread(self.index.match, crops, frame.camera_id, frame.timestamp)
        if not problems:
            return matches, self.stages.done("entities", started, "ok")
        code, message = problems[0]
        status = "failed" if not crops else "partial"
        return matches, self.stages.done(
            "entities", started, status, code, f"{len(problems)} of {len(wanted)} crops not embedded: {message}"
        )

    async def _assess(self, facts: FrameFacts) -> tuple[RiskOutcome, StageResult]:
        started = time.perf_counter()
        outcome = await self.risk.assess(facts)
        if outcome.assessment is None:
            error = f"{outcome.error_code}: {outcome.error}"
            return outcome, self.stages.done("risk", started, "failed", outcome.error_code, error)
        return outcome, self.stages.done("risk", started, "ok")

    def _event(
        self,
        frame: Frame,
        found: DetectResponse | None,
        enriched: FrameEnrichmentResult | None,
        caption: CaptionResponse | None,
        matches: list[Match],
        outcome: RiskOutcome,
        facts: FrameFacts,
        stages: dict[str, StageResult],
        missing: list[str],
        started: float,
    ) -> Event:
        assessment = outcome.assessment
        return Event(
            id=f"evt_{uuid.uuid4().hex[:20]}",
            camera_id=frame.camera_id,
            timestamp=frame.timestamp,
            created_at=time.time(),
            status="degraded" if missing else "complete",
            missing=missing,
            risk_score=assessment.risk_score if assessment else None,
            risk_level=assessment.risk_level if assessment else None,
            image_width=frame.size[0],
            image_height=frame.size[1],
            detections=found.detections if found is not None else [],
            detector_model=found.model if found is not None else None,
            detector_version=found.version if found is not None else None,
            enrichment=enriched.detections if enriched is not None else [],
            caption=caption.caption if caption is not None else None,
            entities=[_sighting(m) for m in matches],
            risk=RiskAnalysis(
                assessment=assessment,
                status=outcome.outcome,  # type: ignore[arg-type]
                error=outcome.error,
                attempts=outcome.attempts,
                model=outcome.model,
                prompt_tokens=outcome.prompt_tokens,
                completion_tokens=outcome.completion_tokens,
                latency_ms=outcome.latency_ms,
                prompt=frame_prompt(facts),
                refused_answers=outcome.answers,
            ),
            stages=stages,
            total_ms=round((time.perf_counter() - started) * 1000.0, 2),
            stored=True,
        )

    async def _store(self, event: Event, matches: list[Match]) -> Event:
        """Stored, or answered with ``stored: false`` and the store stage failed: a
        database that is down must not cost the caller the analysis."""
        started = time.perf_counter()
        async with self._entities_lock:  # the entities as this frame left them, not as the next one moves them
            snapshot = [replace(m, entity=replace(m.entity, vector=m.entity.vector.copy())) for m in matches]
        try:
            await asyncio.to_thread(self.store.save, event, snapshot)
        except Exception as exc:
            logger.exception("event %s was not stored", event.id)
            error = f"{type(exc).__name__}: the database did not take the event (the backend's log has why)"
            stage = self.stages.done("store", started, "failed", "DATABASE", error)
            self.metrics.pipeline_events.labels(status="unstored").inc()
            missing = [*event.missing, "store"]
            return event.model_copy(
                update={
                    "stored": False,
                    "status": "degraded",
                    "missing": missing,
                    "stages": {**event.stages, "store": stage},
                }
            )
        self.metrics.pipeline_events.labels(status=event.status).inc()
        return event.model_copy(update={"stages": {**event.stages, "store": self.stages.done("store", started, "ok")}})


def _judge_enrichment(result: FrameEnrichmentResult) -> tuple[str, str | None, str | None]:
    """ok when every detection's models ran (or none applied); failed when none ran at all."""
    statuses = {r.status for r in result.detections} - {"SKIPPED"}
    if statuses <= {"FULL"}:
        return "ok", None, None
    failed = sorted({m for r in result.detections for m in r.errors})
    status = "failed" if statuses == {"FAILED"} else "partial"
    return status, "MODELS_FAILED", f"models that did not answer: {', '.join(failed)}"


def _note(match: Match) -> EntityNote:
    return EntityNote(
        detection_id=match.detection_id,
        entity_id=match.entity.id,
        kind=match.entity.kind,
        new=match.new,
        sightings=match.sightings_before,
        cameras=match.cameras_before,
        last_seen=match.last_seen_before,
        similarity=match.similarity,
    )


def _sighting(match: Match) -> EntitySighting:
    return EntitySighting(
        detection_id=match.detection_id,
        entity_id=match.entity.id,
        kind=match.entity.kind,  # type: ignore[arg-type]
        new=match.new,
        similarity=match.similarity,
        previous_sightings=match.sightings_before,
        previous_cameras=list(match.cameras_before),
    )
