"""Merge what the light and heavy services answered for one detection into the full
EnrichmentResult: pure, so that every branch is tested without a network."""

from __future__ import annotations

from ai.contracts.enrichment import EnrichResponse, PersonEmbeddingResult
from ai.contracts.enrichment_result import EnrichmentResult, EnrichmentStatus, ModelFailure, ServiceCall
from ai.runtime.redact import for_caller
from backend.enrichment_client.errors import EnrichmentCallError
from backend.enrichment_client.routing import Router

SERVICE_ORDER = ("light", "heavy")
DIRECT_FIELDS = (
    "pose",
    "vehicle",
    "pet",
    "depth",
    "violence",
    "weather",
    "clothing",
    "clothing_segments",
    "action",
    "vehicle_damage",
    "plates",
    "open_vocab",
)


def merge(
    detection_id: str,
    detection_type: str,
    plan: dict[str, list[str]],
    answers: dict[str, EnrichResponse | EnrichmentCallError],
    latencies_ms: dict[str, float],
    router: Router,
) -> EnrichmentResult:
    """``plan``: models routed to each service; ``answers``: what each service said."""
    result = EnrichmentResult(
        detection_id=detection_id, detection_type=detection_type, status="FULL", inference_time_ms=0.0
    )
    for service in (s for s in SERVICE_ORDER if s in plan):
        answer = answers[service]
        call = ServiceCall(
            url=router.urls[service],
            ok=not isinstance(answer, EnrichmentCallError),
            latency_ms=round(latencies_ms.get(service, 0.0), 2),
            models=plan[service],
        )
        result.services[service] = call
        if isinstance(answer, EnrichmentCallError):
            message = for_caller(answer.message) or ""  # a service's internals are not the backend caller's
            call.error = f"{answer.code}: {message}"
            for model in plan[service]:
                result.errors[model] = ModelFailure(code=answer.code, message=message, service=service)
            continue
        _take_fields(result, answer, detection_id, router)
        result.models_used += [m for m in answer.models_used if m not in result.models_used]
        result.skipped.update(answer.skipped)
        for model, error in answer.errors.items():
            result.errors[model] = ModelFailure(
                code=error.code, message=for_caller(error.message) or "", service=service
            )
        for model in plan[service]:
            if model not in answer.models_used and model not in answer.errors and model not in answer.skipped:
                entry = router.entries[model]
                result.errors[model] = ModelFailure(
                    code="MODEL_NOT_HOSTED",
                    service=service,
                    message=f"{model} was routed to the {service} service ({entry.routing_variable}={service}) "
                    "but it did not run there; set the variable the same for the backend and both services",
                )
    result.status = status_of([m for models in plan.values() for m in models], result)
    return result


def _take_fields(result: EnrichmentResult, answer: EnrichResponse, detection_id: str, router: Router) -> None:
    """Copy a service's fields; the first service to answer a field wins (light, then heavy)."""
    for name in DIRECT_FIELDS:
        value = getattr(answer, name)
        if value is not None and getattr(result, name) is None:
            setattr(result, name, value)
    if answer.pose is not None and answer.pose.model == "vitpose":  # asked for, and the finer of the two
        result.pose = answer.pose
    if answer.threat is not None and result.threat_detection is None:
        result.threat_detection = answer.threat
    if answer.demographics is not None:
        if answer.demographics.age is not None:
            result.age_classifications.setdefault(detection_id, answer.demographics.age)
        if answer.demographics.gender is not None:
            result.gender_classifications.setdefault(detection_id, answer.demographics.gender)
    if answer.reid_embedding is not None:
        result.person_embeddings.setdefault(
            detection_id,
            PersonEmbeddingResult(
                embedding=answer.reid_embedding,
                embedding_dimension=len(answer.reid_embedding),
                model=router.entries["person_reid"].source_ref,
            ),
        )


def status_of(planned: list[str], result: EnrichmentResult) -> EnrichmentStatus:
    """SKIPPED when no model applies to the detection, FULL when every routed model ran
    (or was skipped for a reason), FAILED when none did, PARTIAL otherwise."""
    if not planned:
        return "SKIPPED"
    done = [m for m in planned if m in result.models_used or m in result.skipped]
    if len(done) == len(planned):
        return "FULL"
    return "PARTIAL" if done else "FAILED"
