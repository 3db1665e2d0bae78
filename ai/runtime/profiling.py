"""Continuous profiling with Pyroscope, strictly optional: nothing here may stop a service."""

from __future__ import annotations

import logging

from ai.runtime.settings import ServiceSettings

logger = logging.getLogger(__name__)


def start_profiling(settings: ServiceSettings, tags: dict[str, str] | None = None) -> str:
    """Start the Pyroscope agent when ``PYROSCOPE_ENABLED``; return a status for /health.

    The agent pushes in the background: an unreachable ``PYROSCOPE_URL`` only costs
    log lines, never a request.
    """
    if not settings.pyroscope_enabled:
        return "disabled"
    try:
        import pyroscope
    except ImportError:
        logger.warning("PYROSCOPE_ENABLED=true but pyroscope-io is not installed; profiling off")
        return "unavailable: pyroscope-io not installed"
    try:
        pyroscope.configure(
            application_name=settings.service_name,
            server_address=settings.pyroscope_url,
            tags=tags or {},
        )
    except Exception as exc:  # a profiler must never take the service down
        logger.warning("Pyroscope did not start (%s); profiling off", exc)
        return f"failed: {exc}"
    logger.info("continuous profiling to %s", settings.pyroscope_url)
    return f"enabled: {settings.pyroscope_url}"
