"""``python -m ai.enrichment``: serve one enrichment role (ENRICHMENT_ROLE=light|heavy)."""

from __future__ import annotations

import uvicorn

from ai.enrichment.app import create_enrichment_app
from ai.enrichment.settings import EnrichmentSettings
from ai.runtime.logs import configure_logging


def main() -> None:
    settings = EnrichmentSettings()
    configure_logging(settings.log_level)
    app = create_enrichment_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level.lower(), access_log=False)


if __name__ == "__main__":
    main()
