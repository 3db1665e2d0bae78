"""``python -m ai.enrichment``: serve one enrichment role (ENRICHMENT_ROLE=light|heavy)."""

from __future__ import annotations

from ai.enrichment.service import EnrichmentService
from ai.runtime.model_service import serve

if __name__ == "__main__":
    serve(EnrichmentService)
