"""The job queue of this deployment goes with its state store: RQ on the Redis that
holds the stores, else (memory stores) a local process pool beside the server."""

from __future__ import annotations

from engine.jobs.base import JobQueue
from engine.services.planning import StoreRegistry


def job_queue_for(stores: StoreRegistry, workers: int, job_timeout_s: int) -> JobQueue:
    url = stores.redis_url
    if url:
        from engine.jobs.rq_queue import RqJobs

        return RqJobs(url, job_timeout_s)
    from engine.jobs.local import LocalJobs

    return LocalJobs(stores, workers)
