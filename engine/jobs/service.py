"""The job routes' logic: run a plan now or as a job, read and cancel jobs. Jobs belong
to the key's tenant; operators start and cancel them, brand viewers may read them (the
plan a job made is cut to their brand when they fetch it)."""

from __future__ import annotations

from typing import Literal

from engine.access.roles import Principal, authorize
from engine.jobs.model import JobInfo, JobQueue
from engine.service import plan_cells
from engine.store.base import JsonObject, Store

RunAs = Literal["auto", "now", "job"]


def runs_as_job(store: Store, run: RunAs, max_sync_cells: int) -> bool:
    """Whether a plan request becomes a job: asked for, or (auto) bigger than the limit."""
    if run != "auto":
        return run == "job"
    return plan_cells(store.get_snapshot().body) > max_sync_cells


def submit_plan(
    jobs: JobQueue, principal: Principal, mode: str | None, time_limit_s: float
) -> JobInfo:
    authorize(principal, "write", principal.tenant, None)
    args: JsonObject = {"mode": mode, "time_limit_s": time_limit_s}
    return jobs.submit(principal.tenant, "plan", args)


def get_job(jobs: JobQueue, principal: Principal, job_id: str) -> JobInfo:
    authorize(principal, "read", principal.tenant, principal.brand)
    return jobs.get(principal.tenant, job_id)


def cancel_job(jobs: JobQueue, principal: Principal, job_id: str) -> JobInfo:
    authorize(principal, "write", principal.tenant, None)
    return jobs.cancel(principal.tenant, job_id)
