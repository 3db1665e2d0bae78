"""Downloads as background jobs: each runs ``python -m ai.models pull <model>
--progress json`` (the operator's own command, so both share one code path) in a child
process, whose JSON lines are the job's progress and whose ``error:`` and ``hint:``
lines are its error. A child keeps the hub and asset libraries out of the backend and
can be stopped at shutdown. Jobs live in memory; the newest MAX_JOBS are kept."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ai.contracts.model_store import Job, JobState
from ai.runtime.catalog import CatalogEntry
from ai.runtime.context import sees_internals
from ai.runtime.redact import for_caller

logger = logging.getLogger(__name__)

MAX_JOBS = 100
STOP_GRACE_S = 5.0


@dataclass
class DownloadJob:
    model_id: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    state: JobState = "queued"
    bytes_done: int = 0
    bytes_total: int | None = None
    error: str | None = None
    path: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    started_at: datetime | None = None
    finished_at: datetime | None = None

    def view(self) -> Job:
        progress = None
        if self.bytes_total:
            progress = round(min(1.0, self.bytes_done / self.bytes_total), 4)
        elif self.state == "succeeded":
            progress = 1.0
        return Job(
            id=self.id,
            model_id=self.model_id,
            state=self.state,
            bytes_done=self.bytes_done,
            bytes_total=self.bytes_total,
            progress=progress,
            error=for_caller(self.error),  # the hint names the store's path
            path=self.path if sees_internals() else None,
            created_at=self.created_at,
            started_at=self.started_at,
            finished_at=self.finished_at,
        )


class DownloadJobs:
    def __init__(self, models_path: Path, hf_home: Path | None, python: str = sys.executable) -> None:
        self.models_path = models_path
        self.hf_home = hf_home
        self.python = python
        self.jobs: dict[str, DownloadJob] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}

    def get(self, job_id: str) -> DownloadJob | None:
        return self.jobs.get(job_id)

    def newest(self) -> list[DownloadJob]:
        return sorted(self.jobs.values(), key=lambda j: j.created_at, reverse=True)

    def running_for(self, model_id: str) -> DownloadJob | None:
        active = (j for j in self.jobs.values() if j.model_id == model_id and j.state in ("queued", "running"))
        return next(active, None)

    def start(self, entry: CatalogEntry) -> DownloadJob:
        """A new job, or the one already fetching this model (two would write one folder)."""
        running = self.running_for(entry.name)
        if running is not None:
            return running
        job = DownloadJob(entry.name)
        self.jobs[job.id] = job
        self._forget_old()
        self.tasks[job.id] = asyncio.create_task(self._run(job), name=f"download-{entry.name}")
        return job

    def _forget_old(self) -> None:
        finished = [j for j in self.newest() if j.state in ("succeeded", "failed")]
        for job in finished[MAX_JOBS:]:
            self.jobs.pop(job.id, None)

    def _environment(self) -> dict[str, str]:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "AI_MODELS_PATH": str(self.models_path)}
        if self.hf_home is not None:
            env["HF_HOME"] = str(self.hf_home)
        return env

    async def _run(self, job: DownloadJob) -> None:
        command = [self.python, "-m", "ai.models", "pull", job.model_id, "--progress", "json"]
        command += ["--dest", str(self.models_path)]
        job.state, job.started_at = "running", datetime.now(UTC)
        logger.info("download %s of %s started", job.id, job.model_id)
        try:
            process = await asyncio.create_subprocess_exec(
                *command,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=self._environment(),
            )
        except OSError as exc:
            self._finish(job, f"could not start {self.python} -m ai.models: {exc}")
            return
        assert process.stdout is not None and process.stderr is not None
        try:
            _, stderr = await asyncio.gather(self._progress(job, process.stdout), process.stderr.read())
            code = await process.wait()
        except asyncio.CancelledError:
            await _stop(process)
            self._finish(job, "stopped: the backend shut down")
            raise
        except Exception as exc:  # an unreadable child must not leave the job running for ever
            await _stop(process)
            self._finish(job, f"the pull's output could not be read ({type(exc).__name__}: {exc})")
            return
        self._finish(job, None if code == 0 else _reason(stderr.decode("utf-8", "replace"), code))

    async def _progress(self, job: DownloadJob, stdout: asyncio.StreamReader) -> None:
        async for raw in stdout:
            line = raw.decode("utf-8", "replace").strip()
            try:
                update = json.loads(line)
            except ValueError:
                continue
            if not isinstance(update, dict):
                continue
            if "path" in update:
                job.path = str(update["path"])
            elif isinstance(update.get("bytes_done"), int):
                job.bytes_done = update["bytes_done"]
                total = update.get("bytes_total")
                job.bytes_total = total if isinstance(total, int) and total > 0 else job.bytes_total

    def _finish(self, job: DownloadJob, error: str | None) -> None:
        job.state = "failed" if error else "succeeded"
        job.error = error
        job.finished_at = datetime.now(UTC)
        self.tasks.pop(job.id, None)
        if error:
            logger.warning("download %s of %s failed: %s", job.id, job.model_id, error)
        else:
            logger.info("download %s of %s done: %d bytes", job.id, job.model_id, job.bytes_done)

    async def close(self) -> None:
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _reason(stderr: str, code: int) -> str:
    """The pull's own ``error:`` and ``hint:`` lines, else the end of what it wrote."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    said = [line.split(":", 1)[1].strip() for line in lines if line.startswith("error:")]
    said += [line for line in lines if line.startswith("hint:")]
    if said:
        return "; ".join(said)
    tail = " | ".join(lines[-3:])
    return f"the pull exited with code {code}: {tail}" if tail else f"the pull exited with code {code}"


async def _stop(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    try:
        await asyncio.wait_for(process.wait(), STOP_GRACE_S)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
