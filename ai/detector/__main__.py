"""``python -m ai.detector``: serve the object detector (port 8095)."""

from __future__ import annotations

from ai.detector.service import DetectorService
from ai.runtime.model_service import serve

if __name__ == "__main__":
    serve(DetectorService)
