"""The job queue of this deployment goes with its state store: RQ on the Redis that
holds the stores, else (memory stores) a local process pool beside the server."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from engine.core.settings import Settings
from engine.jobs.base import JobQueue, TenantStores
from engine.jobs.kinds import JobKind


class DeploymentStores(TenantStores, Protocol):
    """The stores of a deployment: `redis_url` is set when they live in Redis."""

    redis_url: str | None


def job_queue_for(
    stores: DeploymentStores,
    settings: Settings,
    kinds: Iterable[JobKind],
    setup: Callable[[], None] | None = None,
) -> JobQueue:
    """A queue running `kinds`; `setup` runs at the start of each local pool process
    (RQ's workers are set up by `omnistock worker`)."""
    url = stores.redis_url
    if url:
        from engine.jobs.rq_queue import RqJobs

        return RqJobs(url, kinds, settings.job_timeout_s)
    from engine.jobs.local import LocalJobs

    return LocalJobs(stores, kinds, settings.job_workers, setup)
