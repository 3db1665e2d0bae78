"""``python -m backend``: serve the backend (port 8000 by default)."""

from __future__ import annotations

from ai.runtime.errors import exit_on_bad_configuration
from ai.runtime.logs import configure_logging
from ai.runtime.serving import run_app
from backend.app import create_backend_app
from backend.settings import BackendSettings


def main() -> None:
    with exit_on_bad_configuration():
        settings = BackendSettings()
        configure_logging(settings.log_level)
        app = create_backend_app(settings)
    run_app(app, settings)


if __name__ == "__main__":
    main()
