"""``python -m backend``: serve the backend (port 8000 by default)."""

from __future__ import annotations

import uvicorn

from ai.runtime.errors import exit_on_bad_configuration
from ai.runtime.logs import configure_logging
from backend.app import create_backend_app
from backend.settings import BackendSettings


def main() -> None:
    with exit_on_bad_configuration():
        settings = BackendSettings()
        configure_logging(settings.log_level)
        app = create_backend_app(settings)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
    )


if __name__ == "__main__":
    main()
