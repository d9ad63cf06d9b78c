"""Jobs on RQ over Redis: any number of `omnistock worker` processes share the queue,
and every API worker sees every job.

A job's tenant, kind and progress live in its RQ meta; a job of another tenant is
reported as not found. Workers send heartbeats (engine/jobs/worker.py); when one is
killed mid-job its heartbeat lapses and the job is retried once, then failed with the
cause - the check runs whenever a job is read and in every worker's maintenance.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import Any

from redis import Redis
from rq import Queue, Retry, get_current_job
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.job import JobStatus as RqStatus
from rq.registry import StartedJobRegistry

from engine.jobs.base import (
    ENDED,
    QUEUE,
    JobAlreadyEnded,
    JobInfo,
    JobNotFound,
    JobStatus,
    Progress,
    utc_now,
)
from engine.jobs.kinds import JobFailed, JobKind, by_name, error_text, run_kind
from engine.store.base import JsonObject

KEEP_S = 7 * 24 * 3600  # finished and failed jobs stay readable for a week
STOP_WAIT_S = 5.0  # how long a cancel waits for the worker to stop a running job

_STATUS: dict[str, JobStatus] = {
    RqStatus.QUEUED: "queued",
    RqStatus.DEFERRED: "queued",
    RqStatus.SCHEDULED: "queued",
    RqStatus.STARTED: "running",
    RqStatus.FINISHED: "finished",
    RqStatus.FAILED: "failed",
    RqStatus.STOPPED: "cancelled",
    RqStatus.CANCELED: "cancelled",
}
_ABANDONED = "AbandonedJobError"


def _iso(moment: Any) -> str | None:
    return moment.isoformat(timespec="milliseconds") if moment is not None else None


def _error(job: Job, status: JobStatus) -> str | None:
    if status == "cancelled":
        return "cancelled by request"
    if status != "failed":
        return None
    failure = job.meta.get("failure")
    if failure is not None:  # our own failure, as run_job recorded it (whole)
        return str(failure["message"])
    latest = job.latest_result()
    text = (latest.exc_string if latest is not None else None) or ""
    text = text.strip()
    if _ABANDONED in text:
        return "the worker running it stopped (killed or lost) and the retry was used up"
    last = text.splitlines()[-1] if text else "failed"
    # Our own failures carry a message written for users; drop the exception's path.
    return last.removeprefix(f"{JobFailed.__module__}.{JobFailed.__name__}: ")


class RqJobs:
    def __init__(
        self, url: str, kinds: Iterable[JobKind], job_timeout_s: int = 3600, queue: str = QUEUE
    ) -> None:
        self._url = url
        self._kinds = by_name(kinds)
        self._redis = Redis.from_url(url)  # RQ pickles its payloads: bytes, not str
        self._queue = Queue(queue, connection=self._redis)
        self._timeout = job_timeout_s

    def submit(self, tenant: str, kind: str, args: JsonObject) -> JobInfo:
        job_kind = self._kinds[kind]  # an unknown kind fails here, not in a worker
        job_id = uuid.uuid4().hex
        meta = {"tenant": tenant, "kind": kind, "created_at": utc_now(), "attempts": 0}
        job = self._queue.enqueue(
            run_job,
            tenant,
            job_kind,
            args,
            self._url,
            job_id=job_id,
            job_timeout=self._timeout,
            result_ttl=KEEP_S,
            failure_ttl=KEEP_S,
            retry=Retry(max=1),
            meta=meta,
        )
        return self._info(job)

    def get(self, tenant: str, job_id: str) -> JobInfo:
        # A worker that died leaves its job "started" until its heartbeat lapses;
        # cleanup retries or fails such jobs, so a read never shows a dead run as live.
        StartedJobRegistry(queue=self._queue).cleanup()
        return self._info(self._fetch(tenant, job_id))

    def cancel(self, tenant: str, job_id: str) -> JobInfo:
        job = self._fetch(tenant, job_id)
        info = self._info(job)
        if info.status in ENDED:
            raise JobAlreadyEnded(job_id, info.status)
        try:
            if info.status == "running":
                send_stop_job_command(self._redis, job_id)  # the worker kills its work horse
            else:
                job.cancel()
        except InvalidJobOperation:  # it ended between the read and the cancel
            raise JobAlreadyEnded(job_id, self._info(job).status) from None
        return self._stopped(tenant, job_id)

    def _stopped(self, tenant: str, job_id: str) -> JobInfo:
        """The job once its worker has acted on the stop (it marks the job stopped when
        the work horse is gone, usually within milliseconds); a worker that does not
        answer in STOP_WAIT_S leaves it reported as it is."""
        deadline = time.monotonic() + STOP_WAIT_S
        info = self._info(self._fetch(tenant, job_id))
        while info.status == "running" and time.monotonic() < deadline:
            time.sleep(0.05)
            info = self._info(self._fetch(tenant, job_id))
        return info

    def ping(self) -> bool:
        try:
            return bool(self._redis.ping())
        except Exception:  # any failure to reach Redis means not ready
            return False

    def close(self) -> None:
        self._redis.close()

    def _fetch(self, tenant: str, job_id: str) -> Job:
        try:
            job = Job.fetch(job_id, connection=self._redis)
        except NoSuchJobError:
            raise JobNotFound(job_id) from None
        if job.meta.get("tenant") != tenant:
            raise JobNotFound(job_id)
        return job

    def _info(self, job: Job) -> JobInfo:
        # Everything from one read of the job's hash (RQ records an end in one
        # transaction): the status read apart from the times once showed a job
        # "failed" with no end and the start of before (CI, test_jobs.py).
        job.refresh()
        status = _STATUS.get(job.get_status(refresh=False) or RqStatus.QUEUED, "queued")
        meta = job.meta
        attempts = int(meta.get("attempts", 0))
        progress = Progress(**meta.get("progress", {"stage": "queued"}))
        if status == "queued":  # also back in line after a lost run: its stage is over
            progress = Progress.waiting(attempts)
        if status == "finished":
            progress = Progress("done", progress.total, progress.total)
        failure = meta.get("failure") if status == "failed" else None
        result = job.return_value() if status == "finished" else None
        return JobInfo(
            id=job.id,
            tenant=meta["tenant"],
            kind=meta["kind"],
            status=status,
            progress=progress,
            created_at=meta["created_at"],
            started_at=_iso(job.started_at) if status != "queued" else None,
            ended_at=_iso(job.ended_at) if status in ENDED else None,
            attempts=attempts,
            result=result,
            error=_error(job, status),
            error_parts=failure.get("parts") if failure is not None else None,
        )


def run_job(tenant: str, kind: JobKind, args: JsonObject, store_url: str) -> JsonObject:
    """What an RQ worker runs: prepare, run and finish on the tenant's Redis store (at
    the URL the API uses, which the job carries: workers need no store settings). The
    kind comes with the job (engine/jobs/kinds.py): workers need no table of kinds."""
    from engine.store.redis_store import RedisStore

    job = get_current_job()
    assert job is not None, "run_job runs inside an RQ worker"
    job.meta["attempts"] = int(job.meta.get("attempts", 0)) + 1
    job.save_meta()

    def report(stage: str, done: int, total: int) -> None:
        job.meta["progress"] = {"stage": stage, "done": done, "total": total}
        job.save_meta()

    store = RedisStore(tenant, url=store_url)
    try:
        report("started", 0, 1)
        try:
            prepared = kind.prepare(store, args)
            outcome = run_kind(kind, prepared, report)
            return kind.finish(store, outcome, job.id)
        except Exception as error:
            failed = error if isinstance(error, JobFailed) else JobFailed(error_text(error))
            # RQ keeps only a traceback's text; the message and its parts go in the meta.
            job.meta["failure"] = {"message": str(failed), "parts": failed.parts}
            job.save_meta()
            # The retry is for a run lost with its worker; a job's own failure (a
            # conflict, bad stored data) would only fail the same way again.
            job.retries_left = 0
            raise failed from None
    finally:
        store.close()
