"""``python -m backend``: serve the backend (port 8000 by default)."""

from __future__ import annotations

import sys

import uvicorn
from pydantic import ValidationError

from ai.runtime.errors import StartupError
from ai.runtime.logs import configure_logging
from backend.app import create_backend_app
from backend.settings import BackendSettings


def main() -> None:
    try:
        settings = BackendSettings()
        configure_logging(settings.log_level)
        app = create_backend_app(settings)
    except (StartupError, ValidationError) as exc:  # configuration: one message, not a traceback
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
    )


if __name__ == "__main__":
    main()
