"""The job routes' logic: run a plan now or as a job, read and cancel jobs. Jobs belong
to the key's tenant; operators start and cancel them, brand viewers may read them (the
plan a job made is cut to their brand when they fetch it)."""

from __future__ import annotations

from typing import Literal

from engine.access.roles import Principal, authorize
from engine.jobs.base import JobInfo, JobQueue
from engine.services.planning import compute_plan, plan_cells, plan_inputs, save_plan
from engine.store.base import JsonObject, Store

RunAs = Literal["auto", "now", "job"]


def plan_now_or_job(
    store: Store,
    jobs: JobQueue,
    principal: Principal,
    mode: str | None,
    run: RunAs,
    max_sync_cells: int,
    now_limit_s: float,
    job_limit_s: float,
) -> JobInfo | JsonObject:
    """The plan made now (its stored view) or, when asked for or (auto) larger than
    `max_sync_cells`, the job that makes it. A plan made now reads the stored snapshot
    once, for both its size and the plan."""
    authorize(principal, "write", principal.tenant, None)
    job_args: JsonObject = {"mode": mode, "time_limit_s": job_limit_s}
    if run == "job":
        return jobs.submit(principal.tenant, "plan", job_args)
    inputs = plan_inputs(store, mode)
    if run == "auto" and plan_cells(inputs.snapshot) > max_sync_cells:
        return jobs.submit(principal.tenant, "plan", job_args)
    document, meta = compute_plan(inputs, now_limit_s)
    return save_plan(store, document, meta)


def get_job(jobs: JobQueue, principal: Principal, job_id: str) -> JobInfo:
    authorize(principal, "read", principal.tenant, principal.brand)
    return jobs.get(principal.tenant, job_id)


def cancel_job(jobs: JobQueue, principal: Principal, job_id: str) -> JobInfo:
    authorize(principal, "write", principal.tenant, None)
    return jobs.cancel(principal.tenant, job_id)
