"""glibc allocation thresholds while serving: the runtime's against glibc's fixed defaults.

Once a process sets a malloc threshold (the model manager does, so that weights loaded
on the CPU can be handed back), glibc stops tuning its thresholds itself. This loads
the light torch models the way the manager does, then, in one process, alternates
blocks of calls on an inference-style worker thread under:

* ``serving``: the runtime's ``ALLOC_SERVING`` (heap up to 32 MB, trim at 64 MB);
* ``fixed``: the same mmap threshold with glibc's default 128 KB trim threshold,
  where every call hands its activations back to the system and faults them in again.

Prints p50 per model and the ratio fixed/serving (above 1: the runtime's is faster).
Run: ``python -m benchmarks.allocator_thresholds [--rounds N] [--blocks N]``. Linux only.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ai.contracts.images import Box
from ai.enrichment.settings import EnrichmentSettings
from ai.runtime import device as memory
from ai.runtime.image_request import load_image
from ai.runtime.threads import configure_torch_threads
from benchmarks.harness import BOX, PHOTO, load_adapter, models_root

MODES = {"serving": memory.ALLOC_SERVING, "fixed": (memory.ALLOC_SERVING[0], 128 << 10)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=12, help="timed calls per model, mode and block")
    parser.add_argument("--blocks", type=int, default=3, help="alternations of the two modes")
    args = parser.parse_args()

    root = models_root()
    settings = EnrichmentSettings(ENRICHMENT_ROLE="light", AI_MODELS_PATH=str(root))
    cpu = memory.select_device("cpu")
    loader, worker = ThreadPoolExecutor(1), ThreadPoolExecutor(1)

    def load(name: str) -> Any:
        with memory.returnable_allocations(cpu):
            return load_adapter(name, root, settings)

    adapters = {
        name: loader.submit(load, name).result() for name in ("depth_estimator", "person_reid", "pet_classifier")
    }
    configure_torch_threads(settings.torch_threads, settings.inference_workers)
    crop = load_image(PHOTO.read_bytes(), Box(*map(float, BOX)), settings.image_limits).image
    calls: dict[str, Callable[[], Any]] = {
        "depth (person crop)": lambda: adapters["depth_estimator"].run_batch([crop]),
        "re-ID": lambda: adapters["person_reid"].run_batch([crop]),
        "pet": lambda: adapters["pet_classifier"].run_batch([crop]),
    }
    timings: dict[tuple[str, str], list[float]] = {(c, m): [] for c in calls for m in MODES}
    for _ in range(args.blocks):
        for mode, thresholds in MODES.items():
            if not memory._set_allocation_thresholds(thresholds):
                raise SystemExit("mallopt is not available here (Linux glibc only)")
            for label, call in calls.items():
                worker.submit(call).result()  # settle into the mode
                for _ in range(args.rounds):
                    started = time.perf_counter()
                    worker.submit(call).result()
                    timings[label, mode].append((time.perf_counter() - started) * 1000.0)
    memory._set_allocation_thresholds(memory.ALLOC_SERVING)

    header = f"{'model':<22}{'serving p50':>13}{'fixed p50':>12}{'ratio':>8}"
    print("\n" + header + "  (ratio = fixed / serving; above 1: the runtime's thresholds are faster)")
    print("-" * len(header))
    for label in calls:
        serving, fixed = statistics.median(timings[label, "serving"]), statistics.median(timings[label, "fixed"])
        print(f"{label:<22}{serving:>11.1f}ms{fixed:>10.1f}ms{fixed / serving:>7.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
