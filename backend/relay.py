"""A model service's error, passed on to the backend's caller: the service's own code and
status where they are about the caller's request, but a refusal of the backend's *own*
key (the service's 401 or 403) is the backend's configuration fault, a 502 that names the
variable, so the operator is not told their key was wrong. Not reaching the service at
all (down, timeout, open circuit, an unreadable answer) is a 503 naming it."""

from __future__ import annotations

from typing import Any

from ai.runtime.errors import CODE_FOR_STATUS, ErrorCode, ServiceError

KEY_VARIABLES = {
    "light": "ENRICHMENT_LIGHT_API_KEY",
    "heavy": "ENRICHMENT_API_KEY",
    "detector": "DETECTOR_API_KEY",
    "florence": "FLORENCE_API_KEY",
    "clip": "CLIP_API_KEY",
    "llm": "LLM_API_KEY",
}


def relayed(
    service: str,
    code: str | None,
    message: str,
    status: int | None,
    details: dict[str, Any] | None = None,
    retry_after: float | None = None,
) -> ServiceError:
    details = {"service": service, **(details or {})}
    try:
        known: ErrorCode | None = ErrorCode(code)
    except ValueError:
        known = None
    if status is None or status < 400:  # no answer, or one that was not the contract's
        return ServiceError(
            ErrorCode.SERVICE_UNAVAILABLE, f"the {service} service could not answer: {code}: {message}", details=details
        )
    if status in (401, 403):
        variable = KEY_VARIABLES.get(service, "its *_API_KEY")
        return ServiceError(
            ErrorCode.INTERNAL,
            f"the {service} service refused the backend's own key ({code}: {message}); set {variable} in the "
            "backend to a key that service accepts (load and unload need its admin scope)",
            status=502,
            details={**details, "service_status": status, "service_code": code},
        )
    return ServiceError(
        known or CODE_FOR_STATUS.get(status, ErrorCode.INTERNAL),
        f"the {service} service: {message}",
        status=status,
        details=details,
        retry_after=retry_after,
    )
