"""Make a plan: a form that starts a plan job (engine/services/plan_jobs.py, as the API's
POST /v1/plans with `run: job`), and the job's page with a progress bar that follows it
to the plan. Always a job, whatever the size: the page shows progress and the request
never waits for the solver.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.console.pages.plans import current_inputs
from api.console.web import HEADERS, PREFIX, Visit, VisitDep, console_router, redirect, render, url
from api.deps import get_settings
from api.observe import audit_target
from engine.core.errors import InputError, Issue
from engine.core.modes import MODES
from engine.core.settings import Settings
from engine.jobs.base import ENDED, JobInfo
from engine.services.brand_cut import job_for_brand
from engine.services.plan_jobs import PLAN_JOB, plan_now_or_job
from engine.store.errors import NotFound

router = console_router()

SettingsDep = Annotated[Settings, Depends(get_settings)]


@router.get("/plans/new")
async def make_plan_form(visit: VisitDep) -> Response:
    """The form (operators only: a brand viewer's key reads)."""
    visit.may("write")
    inputs = await run_in_threadpool(current_inputs, visit.store)
    return render(
        visit.request,
        "make_plan.html.j2",
        form=visit.form("/plans/new"),
        inputs=inputs,
        modes=MODES,
    )


@router.post("/plans/new")
async def make_plan(visit: VisitDep, settings: SettingsDep) -> Response:
    """Start the plan job and follow it on its page."""
    _, posted = await visit.accept("/plans/new")
    asked = posted.get("mode", "")
    if asked not in ("", *MODES):
        raise InputError([Issue("mode", f"must be one of {', '.join(MODES)} or empty")], "form")
    mode: Any = asked or None
    job = plan_now_or_job(visit.store, visit.jobs, mode, "job", settings)
    assert isinstance(job, JobInfo)  # run="job" always makes a job
    audit_target(visit.request, job_id=job.id)
    return redirect(f"/jobs/{job.id}")


def _plan_job(visit: Visit, job_id: str) -> JobInfo:
    """A plan job of the tenant as the key sees it; another kind is not the console's."""
    job = visit.jobs.get(visit.tenant, job_id)
    if job.kind != PLAN_JOB.name:
        raise NotFound("plan job", job_id)
    return job_for_brand(job, visit.brand) if visit.brand is not None else job


def _next(job: JobInfo) -> str | None:
    if job.status == "finished" and job.result:
        return url(f"/plans/{job.result['plan_id']}")
    return None


@router.get("/jobs/{job_id}")
async def job_page(visit: VisitDep, job_id: str) -> Response:
    """The job's progress; the plan itself once it is made."""
    job = await run_in_threadpool(_plan_job, visit, job_id)
    plan_url = _next(job)
    if plan_url is not None:
        return redirect(plan_url.removeprefix(PREFIX))
    return render(visit.request, "job.html.j2", job=job, ended=job.status in ENDED)


@router.get("/jobs/{job_id}/progress")
async def job_progress(visit: VisitDep, job_id: str) -> Response:
    """The job's progress for the page's script to poll."""
    job = await run_in_threadpool(_plan_job, visit, job_id)
    body = {
        "status": job.status,
        "stage": job.progress.stage,
        "done": job.progress.done,
        "total": job.progress.total,
        "label": f"{job.status} · {job.progress.stage}",
        "finished": job.status in ENDED,
        "next": _next(job),
    }
    return JSONResponse(body, headers=HEADERS)
