"""A bounded job queue: a few workers, progress per job, cancellation, refusal when full."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any


class QueueFull(RuntimeError):
    """Every worker is busy and the waiting line is full."""


class Cancelled(RuntimeError):
    """The job was cancelled while it ran."""


@dataclass
class Job:
    """One request's work and what a client may ask about it."""

    id: str
    total: int
    status: str = "queued"  # queued, running, done, failed, cancelled
    iteration: int = 0
    error: str | None = None
    error_status: int = 500
    """HTTP status for a failure: 422 for the client's input (no face, bad mask), else 500."""
    options: Any = None
    result: Any = None
    created: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)
    changed: threading.Condition = field(default_factory=threading.Condition)
    future: Future | None = None

    @property
    def progress(self) -> float:
        """The share of the job's search steps done, 0 to 1."""
        return 1.0 if self.status == "done" else min(1.0, self.iteration / max(1, self.total))

    def plan(self, steps: int) -> None:
        """The search's schedule callback: the number of steps the progress counts to."""
        self.total = steps

    def step(self, iteration: int, loss: float) -> None:
        """The search's per-step callback: records progress and stops a cancelled job."""
        if self.cancel_event.is_set():
            raise Cancelled()
        self.iteration = iteration + 1
        with self.changed:
            self.changed.notify_all()

    def view(self) -> dict[str, Any]:
        """JSON-able state of the job (without its result)."""
        return {
            "id": self.id,
            "status": self.status,
            "progress": round(self.progress, 4),
            "iteration": self.iteration,
            "iterations": self.total,
            "error": self.error,
        }


class JobQueue:
    """Runs jobs on max_concurrent threads; at most max_waiting more may wait."""

    def __init__(self, max_concurrent: int = 1, max_waiting: int = 8, keep: int = 16, ttl: float = 300.0):
        self.pool = ThreadPoolExecutor(max_workers=max_concurrent, thread_name_prefix="ganfill-job")
        self.max_concurrent, self.max_waiting, self.keep, self.ttl = max_concurrent, max_waiting, keep, ttl
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()

    def counts(self) -> dict[str, int]:
        """Jobs running and waiting now (the health route's figures)."""
        with self.lock:
            states = [j.status for j in self.jobs.values()]
        return {"running": states.count("running"), "waiting": states.count("queued")}

    def submit(self, work: Callable[[Job], Any], total: int) -> Job:
        """Queue work(job); raises QueueFull when the line is full."""
        with self.lock:
            waiting = sum(j.status in ("queued", "running") for j in self.jobs.values())
            if waiting >= self.max_concurrent + self.max_waiting:
                raise QueueFull()
            job = Job(uuid.uuid4().hex, total)
            self.jobs[job.id] = job
            self._forget_old()
        job.future = self.pool.submit(self._run, job, work)
        return job

    def _run(self, job: Job, work: Callable[[Job], Any]) -> None:
        if job.cancel_event.is_set():
            self._finish(job, "cancelled")
            return
        job.status, job.started = "running", time.monotonic()
        try:
            job.result = work(job)
            self._finish(job, "done")
        except Cancelled:
            self._finish(job, "cancelled")
        except Exception as exc:  # reported to the client, not raised in the worker
            job.error = str(exc)
            self._finish(job, "failed")

    def _finish(self, job: Job, status: str) -> None:
        job.status, job.finished = status, time.monotonic()
        with job.changed:
            job.changed.notify_all()

    def cancel(self, job_id: str) -> Job | None:
        """Ask a queued or running job to stop (it ends at its next step); None if unknown."""
        job = self.jobs.get(job_id)
        if job is not None and job.status in ("queued", "running"):
            job.cancel_event.set()
        return job

    def forget(self, job_id: str) -> None:
        """Drop a finished job and its result now."""
        with self.lock:
            self.jobs.pop(job_id, None)

    def _forget_old(self) -> None:
        """Finished jobs live at most ttl seconds, and only the newest `keep` of them."""
        now = time.monotonic()
        finished = [j for j in self.jobs.values() if j.status in ("done", "failed", "cancelled")]
        finished.sort(key=lambda j: j.created)
        stale = finished[: max(0, len(finished) - self.keep)]
        stale += [j for j in finished if j.finished is not None and now - j.finished > self.ttl]
        for job in stale:
            self.jobs.pop(job.id, None)

    def shutdown(self) -> None:
        """Cancel every job and stop the workers without waiting (the server is closing)."""
        for job in self.jobs.values():
            job.cancel_event.set()
        self.pool.shutdown(wait=False, cancel_futures=True)
