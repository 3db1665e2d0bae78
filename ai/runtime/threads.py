"""How many CPU threads each PyTorch call may use, and keeping it that way.

Every thread that runs torch work keeps its own OpenMP team. A service runs model
work on ``INFERENCE_WORKERS`` threads plus one loader thread, so with torch's default
(one thread per CPU in every team) the teams together hold several times more
threads than there are CPUs. libgomp then stops spinning between parallel regions
and every operator pays a sleep and a wake-up: on 2 CPUs a re-ID call went from
25 ms to 56-68 ms. Sizing the teams so that all of them fit the CPUs keeps every call
at its single-caller speed.

Ultralytics calls ``torch.set_num_threads(min(8, CPUs - 1))`` whenever it selects a
CPU device (at load and on a model's first predict, on whichever thread runs it), and
sets ``OMP_NUM_THREADS=1`` on import, so the count would depend on which model ran
first: on 2 CPUs re-ID took 17 ms after a pose call and 77 ms before one. The manager
re-applies the service's choice after every load and every call (a cheap check), and
``OMP_NUM_THREADS`` is not consulted.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch

logger = logging.getLogger(__name__)

CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")  # cgroup v2: "<quota> <period>" or "max <period>"
CGROUP_V1_CPU = Path("/sys/fs/cgroup/cpu")  # cgroup v1: cpu.cfs_quota_us (-1: none), cpu.cfs_period_us

_chosen: int | None = None


def usable_cpus(cgroup_cpu_max: Path = CGROUP_CPU_MAX, cgroup_v1_cpu: Path = CGROUP_V1_CPU) -> int:
    """CPUs this process may use: its affinity mask, capped by a cgroup CPU quota
    (``docker run --cpus`` and Kubernetes limits set a quota, not an affinity)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    quota = _cgroup_quota(cgroup_cpu_max, cgroup_v1_cpu)
    if quota is not None:
        cpus = min(cpus, max(1, int(quota)))
    return max(1, cpus)


def _cgroup_quota(cpu_max: Path, v1_cpu: Path) -> float | None:
    """The CPU quota in CPUs, or None when there is none (or it cannot be read)."""
    try:
        quota, period = cpu_max.read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota_us = int((v1_cpu / "cpu.cfs_quota_us").read_text())
        period_us = int((v1_cpu / "cpu.cfs_period_us").read_text())
        return None if quota_us <= 0 or period_us <= 0 else quota_us / period_us
    except (OSError, ValueError):
        return None


def intra_op_threads(requested: int, inference_workers: int, cpus: int) -> int:
    """Threads per torch call: ``TORCH_THREADS`` when set (> 0), else the CPUs shared
    among the inference workers and the loader, at least one."""
    if requested > 0:
        return requested
    return max(1, cpus // (inference_workers + 1))


def configure_torch_threads(requested: int, inference_workers: int) -> int:
    """Choose and apply the threads per torch call for this process; threads that
    start torch work later take the same count."""
    global _chosen
    cpus = usable_cpus()
    _chosen = intra_op_threads(requested, inference_workers, cpus)
    torch.set_num_threads(_chosen)
    logger.info(
        "torch uses %d thread(s) per call (%s): %d usable CPU(s), %d inference worker(s) and one loader",
        _chosen,
        "TORCH_THREADS" if requested > 0 else "auto",
        cpus,
        inference_workers,
    )
    return _chosen


def reassert_torch_threads() -> None:
    """Undo a library's change of the thread count; call it on the thread that ran the
    library (the count is per thread, and the default for threads yet to start)."""
    if _chosen is not None and torch.get_num_threads() != _chosen:
        logger.debug("a library set torch to %d thread(s); back to %d", torch.get_num_threads(), _chosen)
        torch.set_num_threads(_chosen)
