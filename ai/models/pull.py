"""Fetch real weights into the model zoo, with progress, and clear errors offline."""

from __future__ import annotations

import os
from pathlib import Path

from ai.runtime.catalog import CatalogEntry
from ai.runtime.families import get_family
from ai.runtime.resolve import DEMO_MARKER, zoo_folder


class PullError(Exception):
    pass


def pull(entry: CatalogEntry, models_path: Path) -> Path:
    """Download ``entry``'s default source into ``models_path/model-zoo/<name>/``."""
    # The services run offline; an explicit pull is the one place that goes online.
    for variable in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "YOLO_OFFLINE"):
        os.environ.pop(variable, None)
    folder = zoo_folder(models_path, entry.name)
    folder.mkdir(parents=True, exist_ok=True)
    kind, ref = entry.source_kind, entry.source_ref
    try:
        if kind == "hf":
            _pull_hf(ref, folder)
        elif kind == "ultralytics":
            _pull_ultralytics(ref, folder)
        elif kind == "torchreid":
            _pull_torchreid(ref, folder)
        else:
            raise PullError(f"{entry.name}: source {entry.source} is installed with pip, not pulled: pip install {ref}")
        after_pull = getattr(get_family(entry.family), "after_pull", None)
        if after_pull is not None:  # e.g. YOLO-World bakes its vocabulary's text embeddings, online
            after_pull(folder, entry)
    except Exception as exc:  # network, auth, missing repo: one line for the operator
        if not any(folder.iterdir()):
            folder.rmdir()
        if isinstance(exc, PullError):
            raise
        raise PullError(f"{entry.name}: could not fetch {entry.source}: {_one_line(exc)}") from exc
    (folder / DEMO_MARKER).unlink(missing_ok=True)
    return folder


def _pull_hf(repo_id: str, folder: Path) -> None:
    from huggingface_hub import snapshot_download

    snapshot_download(repo_id, local_dir=folder)  # shows a progress bar per file


def _pull_ultralytics(asset: str, folder: Path) -> None:
    from ai.runtime.offline import prepare_model_libraries

    prepare_model_libraries(offline=False)
    from ultralytics.utils.downloads import attempt_download_asset

    downloaded = Path(attempt_download_asset(folder / asset))
    if not downloaded.exists():
        raise PullError(f"Ultralytics asset {asset} was not downloaded")


def _pull_torchreid(model_name: str, folder: Path) -> None:
    from ai.runtime.offline import prepare_model_libraries

    prepare_model_libraries(offline=False)
    import gdown
    from torchreid.reid.models.osnet import pretrained_urls

    url = pretrained_urls.get(model_name)
    if url is None:
        raise PullError(f"torchreid has no pretrained weights for {model_name}")
    target = folder / f"{model_name}_imagenet.pth"
    result = gdown.download(url, str(target), quiet=False)
    if not result or not target.exists():
        raise PullError(f"download of {url} failed")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."
