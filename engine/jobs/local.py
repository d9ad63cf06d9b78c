"""The embedded default's job queue: a pool of worker processes beside the server.

The server process prepares a job (reads the tenant's in-memory store), a pool process
runs it on plain data, and the server process stores the outcome. Progress comes back
over a multiprocessing queue. A pool process that dies mid-job (killed, out of memory)
breaks the pool: every job it held is re-run once on a fresh pool, then failed with
the cause - a job is never left "running" with nobody running it.
"""

from __future__ import annotations

import functools
import multiprocessing
import queue as queue_module
import threading
import uuid
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from typing import Any

from engine.jobs.model import (
    ENDED,
    JobAlreadyEnded,
    JobInfo,
    JobKind,
    JobNotFound,
    Progress,
    utc_now,
)
from engine.jobs.tasks import error_text, run_task, task_for
from engine.service import StoreRegistry
from engine.store.base import JsonObject

MAX_ATTEMPTS = 2  # a run lost with its process is retried once
KEEP_ENDED = 1000  # ended jobs remembered for GET, oldest forgotten first

_reports: Any = None  # the pool process's end of the progress queue


def _start_pool_process(reports: Any) -> None:
    global _reports
    _reports = reports


def _run_in_pool(job_id: str, kind: str, args: JsonObject) -> JsonObject:
    def report(stage: str, done: int, total: int) -> None:
        _reports.put((job_id, stage, done, total))

    _reports.put((job_id, "started", 0, 1))
    return run_task(kind, args, report)


class LocalJobs:
    def __init__(self, stores: StoreRegistry, workers: int = 1) -> None:
        self._stores = stores
        self._workers = workers
        # spawn, not fork: the server has threads (uvicorn, Redis pub/sub) a fork would copy
        self._context = multiprocessing.get_context("spawn")
        self._jobs: dict[str, JobInfo] = {}
        self._futures: dict[str, Future[JsonObject]] = {}
        self._args: dict[str, JsonObject] = {}
        self._lock = threading.RLock()
        self._closed = False
        # Made on the first job: a server that never runs one starts no processes.
        self._reports: Any = None
        self._pool: ProcessPoolExecutor | None = None
        self._drain: threading.Thread | None = None

    def _start(self) -> None:
        if self._pool is None:
            self._reports = self._context.Queue()
            self._pool = self._new_pool()
            self._drain = threading.Thread(target=self._read_reports, daemon=True)
            self._drain.start()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self._workers,
            mp_context=self._context,
            initializer=_start_pool_process,
            initargs=(self._reports,),
        )

    # --- the JobQueue interface ---------------------------------------------------------

    def submit(self, tenant: str, kind: JobKind, args: JsonObject) -> JobInfo:
        prepared = task_for(kind).prepare(self._stores.get(tenant), args)
        job = JobInfo(id=uuid.uuid4().hex, tenant=tenant, kind=kind, status="queued")
        with self._lock:
            self._start()
            self._jobs[job.id] = job
            self._args[job.id] = prepared
            self._launch(job)
        return replace(job)

    def get(self, tenant: str, job_id: str) -> JobInfo:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.tenant != tenant:
                raise JobNotFound(job_id)
            return replace(job, progress=replace(job.progress))

    def cancel(self, tenant: str, job_id: str) -> JobInfo:
        """A queued job never starts; a running one's outcome is thrown away (a pool
        process cannot be interrupted without losing the other jobs it holds)."""
        with self._lock:
            job = self.get(tenant, job_id)
            if job.status in ENDED:
                raise JobAlreadyEnded(job_id, job.status)
            live = self._jobs[job_id]
            self._futures[job_id].cancel()
            self._end(live, "cancelled", error="cancelled by request")
            return replace(live)

    def ping(self) -> bool:
        return not self._closed and (self._drain is None or self._drain.is_alive())

    def close(self) -> None:
        self._closed = True
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._reports.put(None)

    def pool_pids(self) -> list[int]:
        """The pool's process ids (tests kill one to show a lost job is not lost)."""
        processes = getattr(self._pool, "_processes", None) or {}
        return list(processes)

    # --- running ------------------------------------------------------------------------

    def _launch(self, job: JobInfo) -> None:
        job.attempts += 1
        assert self._pool is not None, "started by submit"
        try:
            future = self._pool.submit(_run_in_pool, job.id, job.kind, self._args[job.id])
        except (BrokenProcessPool, RuntimeError):  # a broken pool takes no more work
            self._pool = self._new_pool()
            future = self._pool.submit(_run_in_pool, job.id, job.kind, self._args[job.id])
        self._futures[job.id] = future
        future.add_done_callback(functools.partial(self._done, job.id))

    def _done(self, job_id: str, future: Future[JsonObject]) -> None:
        with self._lock:
            job = self._jobs[job_id]
            if job.status in ENDED or future.cancelled():
                return
            error = future.exception()
            if isinstance(error, BrokenProcessPool) and not self._closed:
                if job.attempts < MAX_ATTEMPTS:
                    job.status, job.progress = "queued", Progress("retrying")
                    self._launch(job)
                    return
                lost = "the worker process running it died (killed or out of memory)"
                self._end(job, "failed", error=f"{lost}; tried {job.attempts} times")
                return
            if error is not None:
                self._end(job, "failed", error=error_text(error))
                return
        try:  # the store write happens outside the lock: it can take a while
            result = task_for(job.kind).finish(self._stores.get(job.tenant), future.result())
        except Exception as finish_error:  # noqa: BLE001 - reported on the job, not lost
            with self._lock:
                self._end(job, "failed", error=error_text(finish_error))
            return
        with self._lock:
            if job.status not in ENDED:
                self._end(job, "finished", result=result)

    def _end(self, job: JobInfo, status: Any, **outcome: Any) -> None:
        job.status = status
        job.ended_at = utc_now()
        job.result = outcome.get("result")
        job.error = outcome.get("error")
        if status == "finished":
            job.progress = Progress("done", job.progress.total, job.progress.total)
        self._args.pop(job.id, None)
        self._futures.pop(job.id, None)
        ended = [j for j in self._jobs.values() if j.status in ENDED]
        for old in ended[: max(0, len(ended) - KEEP_ENDED)]:
            del self._jobs[old.id]

    def _read_reports(self) -> None:
        while True:
            try:
                report = self._reports.get()
            except (EOFError, OSError, queue_module.Empty):
                return
            if report is None:
                return
            job_id, stage, done, total = report
            with self._lock:
                job = self._jobs.get(job_id)
                if job is None or job.status in ENDED:
                    continue
                if stage == "started":
                    job.status = "running"
                    job.started_at = job.started_at or utc_now()
                job.progress = Progress(stage, done, total)
