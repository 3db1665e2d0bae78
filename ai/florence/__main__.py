"""``python -m ai.florence``: serve Florence-2 (port 8092)."""

from __future__ import annotations

from ai.florence.service import FlorenceService
from ai.runtime.model_service import serve

if __name__ == "__main__":
    serve(FlorenceService)
