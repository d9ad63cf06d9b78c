"""The embedded default's job queue: a pool of worker processes beside the server.

The server process prepares a job (reads the tenant's in-memory store), a pool process
runs it on plain data, and the server process stores the outcome. Progress comes back
through a manager's dict, not a multiprocessing queue: a process killed while writing
to a queue holds its lock for ever and stalls every other writer; a manager only loses
that one connection. A pool process that dies mid-job (killed, out of memory)
breaks the pool: every job it held is re-run once on a fresh pool, then failed with
the cause - a job is never left "running" with nobody running it. A job's attempts
count the runs that started: a job still waiting in line has none.
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import os
import signal
import threading
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from typing import Any

from engine.jobs.base import (
    ENDED,
    JobAlreadyEnded,
    JobInfo,
    JobNotFound,
    Progress,
    TenantStores,
    utc_now,
)
from engine.jobs.kinds import JobFailed, JobKind, by_name, error_text, run_kind
from engine.store.base import JsonObject

MAX_ATTEMPTS = 2  # a run lost with its process is retried once
KEEP_ENDED = 1000  # ended jobs remembered for GET, oldest forgotten first

_board: Any = None  # a pool process's handle on the progress dict: job id -> progress


def _start_pool_process(board: Any, setup: Callable[[], None] | None) -> None:
    global _board
    _board = board
    if setup is not None:
        setup()


class Cancelled(Exception):
    """A running job's cancel request, seen at its next progress report."""


def _cancel_key(job_id: str) -> tuple[str, str]:
    return ("cancel", job_id)


def _run_in_pool(job_id: str, kind: JobKind, args: JsonObject) -> JsonObject:
    started = utc_now()  # when the run began, not when the server first looked

    def report(stage: str, done: int, total: int) -> None:
        # Every report is also where a cancel request stops the run, so a cancelled
        # scenario stops within one simulated day and frees its pool process.
        if _board.get(_cancel_key(job_id)):
            raise Cancelled(job_id)
        _board[job_id] = (stage, done, total, started)

    report("started", 0, 1)
    return run_kind(kind, args, report)


class LocalJobs:
    def __init__(
        self,
        stores: TenantStores,
        kinds: Iterable[JobKind],
        workers: int = 1,
        setup: Callable[[], None] | None = None,
    ) -> None:
        """`setup` runs first in each pool process (spawned: a process start; it must
        pickle), e.g. the allocator settings of a process that plans."""
        self._stores = stores
        self._kinds = by_name(kinds)
        self._workers = workers
        self._setup = setup
        # spawn, not fork: the server has threads (uvicorn, Redis pub/sub) a fork would copy
        self._context = multiprocessing.get_context("spawn")
        self._jobs: dict[str, JobInfo] = {}
        self._futures: dict[str, Future[JsonObject]] = {}
        self._args: dict[str, JsonObject] = {}
        self._lock = threading.RLock()
        self._closed = False
        # Made on the first job: a server that never runs one starts no processes.
        self._manager: Any = None
        self._board: Any = None
        self._pool: ProcessPoolExecutor | None = None

    def _start(self) -> None:
        if self._pool is None:
            self._manager = self._context.Manager()
            self._board = self._manager.dict()
            self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self._workers,
            mp_context=self._context,
            initializer=_start_pool_process,
            initargs=(self._board, self._setup),
        )

    # --- the JobQueue interface ---------------------------------------------------------

    def submit(self, tenant: str, kind: str, args: JsonObject) -> JobInfo:
        prepared = self._kinds[kind].prepare(self._stores.get(tenant), args)
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
            self._read_progress(job)
            return replace(job, progress=replace(job.progress))

    def cancel(self, tenant: str, job_id: str) -> JobInfo:
        """A queued job never starts; a running one stops at its next progress report
        (killing its pool process would lose the other jobs the pool holds), and its
        outcome is thrown away if it ends first."""
        with self._lock:
            job = self.get(tenant, job_id)
            if job.status in ENDED:
                raise JobAlreadyEnded(job_id, job.status)
            live = self._jobs[job_id]
            if not self._futures[job_id].cancel():  # already running: ask it to stop
                with contextlib.suppress(OSError, EOFError):
                    self._board[_cancel_key(job_id)] = True
            self._end(live, "cancelled", error="cancelled by request")
            return replace(live)

    def ping(self) -> bool:
        return not self._closed

    def close(self) -> None:
        """Stop at once: running jobs die with the server, as its memory store does."""
        self._closed = True
        if self._pool is not None:
            pids = self.pool_pids()
            self._pool.shutdown(wait=False, cancel_futures=True)
            for pid in pids:  # else interpreter exit would wait for their jobs to end
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
            self._manager.shutdown()

    def pool_pids(self) -> list[int]:
        """The pool's process ids (tests kill one to show a lost job is not lost)."""
        processes = getattr(self._pool, "_processes", None) or {}
        return list(processes)

    # --- running ------------------------------------------------------------------------

    def _launch(self, job: JobInfo) -> None:
        assert self._pool is not None, "started by submit"
        kind = self._kinds[job.kind]
        try:
            future = self._pool.submit(_run_in_pool, job.id, kind, self._args[job.id])
        except (BrokenProcessPool, RuntimeError):  # a broken pool takes no more work
            self._pool = self._new_pool()
            future = self._pool.submit(_run_in_pool, job.id, kind, self._args[job.id])
        self._futures[job.id] = future
        future.add_done_callback(functools.partial(self._done, job.id))

    def _done(self, job_id: str, future: Future[JsonObject]) -> None:
        with self._lock:
            job = self._jobs[job_id]
            if job.status in ENDED or future.cancelled():
                if self._board is not None and not self._closed:
                    with contextlib.suppress(OSError, EOFError):
                        self._board.pop(_cancel_key(job_id), None)
                        self._board.pop(job_id, None)
                return
            self._read_progress(job)  # the last word of the run, before it is cleared
            error = future.exception()
            if isinstance(error, BrokenProcessPool) and not self._closed:
                if job.attempts < MAX_ATTEMPTS:  # a job that never started has none
                    job.status, job.progress = "queued", Progress.waiting(job.attempts)
                    self._board.pop(job_id, None)
                    self._launch(job)
                    return
                lost = "the worker process running it died (killed or out of memory)"
                self._end(job, "failed", error=f"{lost}; tried {job.attempts} times")
                return
            if error is not None:
                parts = error.parts if isinstance(error, JobFailed) else None
                self._end(job, "failed", error=error_text(error), error_parts=parts)
                return
        try:  # the store write happens outside the lock: it can take a while
            result = self._kinds[job.kind].finish(
                self._stores.get(job.tenant), future.result(), job.id
            )
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
        job.error_parts = outcome.get("error_parts")
        if status == "finished":
            job.progress = Progress("done", job.progress.total, job.progress.total)
        self._args.pop(job.id, None)
        self._futures.pop(job.id, None)
        if self._board is not None and not self._closed and status != "cancelled":
            # A cancel request stays on the board: the run reads it at its next report.
            self._board.pop(job.id, None)
        ended = [j for j in self._jobs.values() if j.status in ENDED]
        for old in ended[: max(0, len(ended) - KEEP_ENDED)]:
            del self._jobs[old.id]

    def _read_progress(self, job: JobInfo) -> None:
        if job.status in ENDED or self._board is None:
            return
        try:
            report = self._board.get(job.id)
        except (OSError, EOFError):  # the manager is gone: the queue is closing
            return
        if report is None:
            return
        stage, done, total, started = report
        if job.status == "queued":  # a run has started: it counts as an attempt
            job.status = "running"
            job.started_at = started
            job.attempts += 1
        job.progress = Progress(stage, done, total)
