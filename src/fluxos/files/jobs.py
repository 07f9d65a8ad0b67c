"""Long file operations as background jobs (upstream 8.18's `/apps/operations/:jobId`).

A job is started by the route that accepted the work (202 with its id), runs in the
files area's worker threads, and is read or cancelled by the identity that started it:
an unknown job, an expired one and someone else's are the same "not found", so a job id
tells nobody whether other people have operations running. Jobs live in memory (the work
is this node's; a restart loses the job, not data: every operation publishes its result
in one rename). A finished job is kept an hour.

Cancellation is cooperative: the work checks `Job.cancelled` between chunks and files,
removes what it staged and ends `Canceled`; one that had already published ends
`Succeeded` (the cancel lost the race, and saying otherwise would hide a replaced
destination)."""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fluxos.clock import Clock
from fluxos.errors import FluxError

log = logging.getLogger(__name__)

RUNNING, SUCCEEDED, FAILED, CANCELED = "Running", "Succeeded", "Failed", "Canceled"
TERMINAL = (SUCCEEDED, FAILED, CANCELED)
RETENTION_SECONDS = 3600
RETRY_AFTER_SECONDS = 2


class Canceled(Exception):
    """Raised inside a job's work when its cancel was seen before it published."""


def status_url(job_id: str) -> str:
    return f"/apps/operations/{job_id}"


@dataclass
class Job:
    job_id: str
    kind: str
    owner: str
    app: str
    created_ms: int
    updated_ms: int
    status: str = RUNNING
    progress: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, Any] | None = None
    bytes_done: int | None = None
    bytes_total: int | None = None
    finished_at: float | None = None
    cancel_requested: threading.Event = field(default_factory=threading.Event)

    def check_cancel(self) -> None:
        """Called by the work between steps (in its thread)."""
        if self.cancel_requested.is_set():
            raise Canceled()

    def view(self) -> dict[str, Any]:
        detail: dict[str, Any] = {"app": self.app, "operation": self.kind}
        if self.bytes_done is not None:
            done = self.bytes_done
            if self.bytes_total is not None and self.status == RUNNING:
                done = min(done, self.bytes_total)
            detail["bytesDone"] = done
        if self.bytes_total is not None:
            detail["bytesTotal"] = self.bytes_total
        return {
            "jobId": self.job_id,
            "kind": self.kind,
            "status": self.status,
            "createdAt": self.created_ms,
            "lastUpdatedAt": self.updated_ms,
            "progress": list(self.progress),
            "error": self.error,
            "detail": detail,
        }


def _problem(error: BaseException, job_id: str) -> dict[str, Any]:
    """The failure as upstream's RFC 9457-shaped `error` of a job."""
    if isinstance(error, FluxError):
        title, detail, code = error.name, error.message, error.code
    else:
        title, detail, code = type(error).__name__, "the operation failed", None
    problem: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": 500,
        "detail": detail,
        "instance": status_url(job_id),
    }
    if code is not None:
        problem["code"] = code
    return problem


class Jobs:
    """The node's file-operation jobs."""

    def __init__(self, clock: Clock, retention: float = RETENTION_SECONDS) -> None:
        self.clock = clock
        self.retention = retention
        self._jobs: dict[str, Job] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def _prune(self) -> None:
        now = self.clock.monotonic()
        for job_id, job in list(self._jobs.items()):
            if job.finished_at is not None and now - job.finished_at >= self.retention:
                del self._jobs[job_id]

    def running_for(self, app: str) -> Job | None:
        return next(
            (job for job in self._jobs.values() if job.status == RUNNING and job.app == app),
            None,
        )

    def start(
        self,
        kind: str,
        owner: str,
        app: str,
        status: str,
        work: Callable[[Job], Awaitable[None]],
        bytes_total: int | None = None,
    ) -> Job:
        """Register a job and run `work(job)` in the background; `status` is its first
        progress line ("Copying...")."""
        self._prune()
        now = self.clock.millis()
        job = Job(f"op_{uuid.uuid4()}", kind, owner, app, now, now, bytes_total=bytes_total)
        self._jobs[job.job_id] = job
        self.note(job, status)
        task = asyncio.create_task(self._run(job, work), name=f"file operation {job.job_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    def note(self, job: Job, message: str) -> None:
        """Append a progress line (a repeat only marks the job alive)."""
        if job.status != RUNNING:
            return
        job.updated_ms = self.clock.millis()
        if not job.progress or job.progress[-1]["message"] != message:
            job.progress.append({"at": job.updated_ms, "message": message})

    async def _run(self, job: Job, work: Callable[[Job], Awaitable[None]]) -> None:
        try:
            await work(job)
            outcome, error = SUCCEEDED, None
        except Canceled:
            outcome, error = CANCELED, None
        except asyncio.CancelledError:
            self._finish(job, CANCELED, None)
            raise
        except Exception as failure:  # reported on the job, never a dead task
            if not isinstance(failure, FluxError):
                log.exception("file operation %s (%s) failed", job.job_id, job.kind)
            outcome, error = FAILED, _problem(failure, job.job_id)
        self._finish(job, outcome, error)

    def _finish(self, job: Job, outcome: str, error: dict[str, Any] | None) -> None:
        job.status, job.error = outcome, error
        job.updated_ms = self.clock.millis()
        job.finished_at = self.clock.monotonic()
        if error is not None:
            log.warning("file operation %s (%s) failed: %s", job.job_id, job.kind, error["detail"])

    def get(self, job_id: str, owner: str | None) -> Job | None:
        self._prune()
        job = self._jobs.get(job_id)
        if job is None or owner is None or job.owner != owner:
            return None
        return job

    def cancel(self, job_id: str, owner: str | None) -> tuple[Job, bool] | None:
        """Ask a running job to stop: the job and whether the request was taken."""
        job = self.get(job_id, owner)
        if job is None:
            return None
        if job.status != RUNNING:
            return job, False
        job.cancel_requested.set()
        job.updated_ms = self.clock.millis()
        return job, True

    async def aclose(self) -> None:
        for job in self._jobs.values():
            job.cancel_requested.set()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
