"""Test-wide settings: offline, and caches in a temporary folder, never the user's."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_ROOT = Path(tempfile.mkdtemp(prefix="fleet-tests-"))
os.environ.setdefault("CACHE_DIR", str(_ROOT / "cache"))
os.environ.setdefault("YOLO_CONFIG_DIR", str(_ROOT / "ultralytics"))
os.environ["HF_HOME"] = str(_ROOT / "hf")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["AI_MODELS_PATH"] = str(_ROOT / "empty-models")
