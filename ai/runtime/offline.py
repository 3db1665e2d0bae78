"""Keep model libraries off the network and out of read-only places.

Applied by the runtime before Ultralytics or transformers are imported: Hugging
Face and Ultralytics run offline (weights come from the model store only), and
Ultralytics gets a writable settings folder with a font, since it writes settings
on import and looks for Arial.ttf online when it plots.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

_applied: dict[str, bool] = {}


def apply_offline_env(cache_dir: Path, offline: bool = True) -> None:
    """Set the environment the model libraries read at import (idempotent)."""
    if _applied.get("done"):
        return
    if offline:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "False")
    os.environ.setdefault("YOLO_VERBOSE", "False")
    config_dir = Path(os.environ.setdefault("YOLO_CONFIG_DIR", str(cache_dir / "ultralytics")))
    config_dir.mkdir(parents=True, exist_ok=True)
    _provide_font(config_dir)
    _applied["done"] = True


def _provide_font(config_dir: Path) -> None:
    target = config_dir / "Arial.ttf"
    if target.exists():
        return
    for candidate in _font_candidates():
        if candidate.exists():
            shutil.copyfile(candidate, target)
            return


def _font_candidates() -> list[Path]:
    found = [Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")]
    try:
        import matplotlib

        found.append(Path(matplotlib.__file__).parent / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf")
    except ImportError:
        pass
    return found


def prepare_model_libraries(cache_dir: Path | None = None, offline: bool | None = None) -> None:
    """Offline settings plus the torchvision shim: call before importing model libraries.

    Without arguments the settings come from the environment (``CACHE_DIR``, ``AI_OFFLINE``).
    """
    from ai.runtime.settings import RuntimeSettings
    from ai.runtime.torchvision_compat import ensure_torchvision

    if cache_dir is None or offline is None:
        settings = RuntimeSettings()
        cache_dir = cache_dir or settings.cache_dir
        offline = settings.offline if offline is None else offline
    apply_offline_env(cache_dir, offline)
    ensure_torchvision()
