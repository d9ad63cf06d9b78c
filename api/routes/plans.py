"""Plans of the tenant: made now or as a job, read back (cut to a brand viewer's
brand), and why a SKU got what it got."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from api.deps import JobsDep, Reader, SettingsDep, StoreDep, Writer
from api.errors import JsonRoute
from api.observe import audit_target
from api.schemas.errors import (
    INVALID,
    KEYED,
    NOT_FOUND,
    SOLVER_FAILED,
    WITH_BODY,
    Answer,
    RulesConflict,
    conflicts,
    location,
    responses,
)
from api.schemas.jobs import JOB_LINKS, JobOut
from api.schemas.plans import PLAN_LINKS, PlanOut, PlanRequest, SkuStoryOut
from api.urls import job_json, job_url
from engine.jobs.base import JobInfo
from engine.services import plans
from engine.services.plan_jobs import plan_now_or_job

router = APIRouter(route_class=JsonRoute, tags=["planning"])


@router.post(
    "/plans",
    operation_id="create-plan",
    response_model=PlanOut,
    responses=responses(
        Answer(200, "the plan, made now", (PlanOut,), links=PLAN_LINKS),
        Answer(202, "a large plan runs as a job", (JobOut,), location("job"), JOB_LINKS),
        KEYED,
        WITH_BODY,
        NOT_FOUND,
        conflicts(RulesConflict),
        SOLVER_FAILED,
    ),
)
def create_plan(
    request: Request,
    writer: Writer,
    store: StoreDep,
    jobs: JobsDep,
    settings: SettingsDep,
    body: PlanRequest | None = None,
) -> Any:
    """Plan the stored snapshot with the latest ruleset; the plan is stored. Up to
    OMNISTOCK_SYNC_PLAN_MAX_CELLS cells the plan comes back now; above (or with
    `run: job`), 202 with the job to follow at its URL (Location header)."""
    body = body or PlanRequest()
    result = plan_now_or_job(store, jobs, body.mode, body.run, settings)
    if isinstance(result, JobInfo):
        audit_target(request, job_id=result.id)
        headers = {"Location": job_url(result.id)}
        return JSONResponse(job_json(result), status_code=202, headers=headers)
    audit_target(request, plan_id=result["plan_id"])
    request.app.state.metrics.record_plan(result["plan"])
    return plan_response(result)


@router.get(
    "/plans/{plan_id}",
    operation_id="get-plan",
    response_model=PlanOut,
    responses=responses(KEYED, NOT_FOUND, INVALID),
)
def get_plan(plan_id: str, reader: Reader, store: StoreDep) -> Any:
    """A stored plan (a brand viewer sees its brand's SKUs and shops only)."""
    return plan_response(plans.get_plan(store, plan_id, reader.brand))


def plan_response(view: dict[str, Any]) -> Response:
    """A plan's view as its JSON answer (`PlanOut`). Written by orjson, not checked
    against PlanOut and serialised again by FastAPI: a plan of 10,000 cells is 0.6 MB
    that the service has just built in that shape, and the 5 ms that costs would be
    spent on the event loop of every plan request."""
    return Response(orjson.dumps(view), media_type="application/json")


@router.get(
    "/plans/{plan_id}/explain",
    operation_id="explain-sku",
    response_model=SkuStoryOut,
    responses=responses(KEYED, NOT_FOUND, INVALID),
)
def explain_sku(plan_id: str, sku: str, reader: Reader, store: StoreDep) -> dict[str, Any]:
    """Why the plan gives each shop what it gives for one SKU."""
    return plans.explain(store, plan_id, sku, reader.brand)
