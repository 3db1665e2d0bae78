"""Download progress measured on disk, the same for every source (hub, Ultralytics
assets, Google Drive): a thread polls the bytes under the target folders and reports
them with the expected total, when the source says it. The CLI draws a bar from it; the
backend's download jobs read it as JSON lines."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from ai.runtime.store_layout import folder_bytes

OnProgress = Callable[[int, int | None], None]  # bytes done, bytes expected (None: unknown)
POLL_S = 0.5


@contextmanager
def watching(folders: list[Path], total: int | None, on_progress: OnProgress | None) -> Iterator[None]:
    """Report the bytes under ``folders`` every POLL_S while the body runs, and once after."""
    if on_progress is None:
        yield
        return
    baseline = sum(folder_bytes(f) for f in folders if f.exists())
    stop = threading.Event()

    def done() -> int:
        return max(0, sum(folder_bytes(f) for f in folders if f.exists()) - baseline)

    def poll() -> None:
        while not stop.wait(POLL_S):
            on_progress(done(), total)

    thread = threading.Thread(target=poll, name="pull-progress", daemon=True)
    on_progress(0, total)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
    on_progress(done(), total)


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def bar_printer(stream: TextIO = sys.stderr, width: int = 30) -> OnProgress:
    """A one-line bar redrawn in place on a terminal; elsewhere a line per 10 %."""
    last = {"tenth": -1}

    def show(done: int, total: int | None) -> None:
        if total:
            fraction = min(1.0, done / total)
            filled = int(fraction * width)
            line = f"[{'#' * filled}{'.' * (width - filled)}] {fraction:4.0%} {_mb(done)} / {_mb(total)}"
            tenth = int(fraction * 10)
        else:
            line, tenth = f"{_mb(done)} downloaded", done // 50_000_000
        if stream.isatty():
            stream.write("\r" + line)
        elif tenth != last["tenth"]:
            stream.write(line + "\n")
        last["tenth"] = tenth
        stream.flush()

    return show


def json_printer(stream: TextIO = sys.stdout) -> OnProgress:
    """``{"bytes_done": N, "bytes_total": M}`` per line, for a program reading the pull."""

    def show(done: int, total: int | None) -> None:
        stream.write(json.dumps({"bytes_done": done, "bytes_total": total}) + "\n")
        stream.flush()

    return show
