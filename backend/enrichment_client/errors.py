"""What a failed call to an enrichment service looks like to the backend."""

from __future__ import annotations

from typing import Any


class EnrichmentCallError(Exception):
    """A call that did not produce a result: the service's own error envelope, or what
    happened on the way (unreachable, timeout, open circuit, unreadable answer)."""

    def __init__(
        self,
        service: str,
        code: str,
        message: str,
        status: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{service}: {code}: {message}")
        self.service = service
        self.code = code
        self.message = message
        self.status = status
        self.details = details or {}
