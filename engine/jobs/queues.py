"""The job queue of this deployment goes with its state store: RQ on the Redis that
holds the stores, else (memory stores) a local process pool beside the server."""

from __future__ import annotations

from collections.abc import Callable

from engine.core.settings import Settings
from engine.jobs.base import JobQueue
from engine.services.planning import StoreRegistry


def job_queue_for(
    stores: StoreRegistry, settings: Settings, setup: Callable[[], None] | None = None
) -> JobQueue:
    """`setup` runs at the start of each local pool process (RQ's workers are set up by
    `omnistock worker`)."""
    url = stores.redis_url
    if url:
        from engine.jobs.rq_queue import RqJobs

        return RqJobs(url, settings.job_timeout_s)
    from engine.jobs.local import LocalJobs

    return LocalJobs(stores, settings.job_workers, setup)
