"""``python -m ai.clip``: serve CLIP (port 8093)."""

from __future__ import annotations

from ai.clip.service import ClipService
from ai.runtime.model_service import serve

if __name__ == "__main__":
    serve(ClipService)
