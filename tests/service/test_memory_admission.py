"""Request memory admission over real HTTP: a burst of small files that decode to huge
images keeps the process's resident memory bounded, and the memory comes back after."""

from __future__ import annotations

import concurrent.futures
import threading
import time

import httpx
import psutil
import pytest

from tests.support.images import b64, huge_flat_png
from tests.support.server import LiveServer
from tests.support.torch_models import blob_spec
from tests.support.toy_service import toy_app

MB = 1024 * 1024
CLIENTS = 24
# Each 6000x6000 RGB image holds ~108 MB decoded and ~216 MB while the toy endpoint reads
# its pixels; 40 Mpx in flight admits one at a time. Unbounded, 24 at once is ~5 GB.
BOUND_MB = 1200


class PeakRss:
    """Samples this process's resident memory every 10 ms (the server runs in it)."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.01)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.mark.timeout(300)
def test_a_burst_of_huge_images_keeps_memory_bounded_and_every_answer_is_200_or_503() -> None:
    payload = {"image": b64(huge_flat_png(6000, 6000))}
    app = toy_app([blob_spec("m", 1)], VRAM_BUDGET_MB=100, MAX_INFLIGHT_MEGAPIXELS=40, ADMISSION_WAIT_SECONDS=3)
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=120) as http:
        assert http.post("/infer/m", json={"image": b64(huge_flat_png(64, 64))}).status_code == 200  # warm
        baseline = psutil.Process().memory_info().rss
        with PeakRss() as rss, concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
            answers = list(pool.map(lambda _i: http.post("/infer/m", json=payload), range(CLIENTS)))
        statuses = [a.status_code for a in answers]
        assert set(statuses) <= {200, 503}, statuses
        assert 200 in statuses, "admission lets work through, it does not refuse everything"
        refused = [a for a in answers if a.status_code == 503]
        assert all(a.json()["error"]["code"] == "RESOURCE_EXHAUSTED" and "Retry-After" in a.headers for a in refused)
        grown_mb = (rss.peak - baseline) / MB
        assert grown_mb < BOUND_MB, f"resident memory grew {grown_mb:.0f} MB during the burst"
        metrics = http.get("/metrics").text
        assert "toy_request_pixels_in_flight 0.0" in metrics, "every reservation was released"
        time.sleep(0.5)
        after_mb = (psutil.Process().memory_info().rss - baseline) / MB
        assert after_mb < 250, f"{after_mb:.0f} MB still held after the burst"
        print(f"\nburst of {CLIENTS}: peak +{grown_mb:.0f} MB, after +{after_mb:.0f} MB, statuses {sorted(statuses)}")
