"""Run an app with uvicorn the way every service of the fleet runs."""

from __future__ import annotations

from typing import Any

import uvicorn

from ai.runtime.settings import ServiceSettings


def run_app(app: Any, settings: ServiceSettings) -> None:
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,  # the runtime writes its own, escaped, access log
        proxy_headers=False,  # the security gate resolves X-Forwarded-For itself (TRUSTED_PROXIES)
    )
