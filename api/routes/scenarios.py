"""What-if scenarios of the key's tenant, played on its stored snapshot and ruleset as
jobs; results are the side-by-side comparison and PNG charts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from api.deps import JobsDep, SettingsDep, StoreDep, TenantReader, Writer
from api.errors import JsonRoute
from api.observe import audit_target
from api.schemas.errors import (
    INVALID,
    KEYED,
    NOT_FOUND,
    WITH_BODY,
    Answer,
    location,
    responses,
)
from api.schemas.jobs import JobOut
from api.schemas.scenarios import RUN_LINKS, ScenarioBody, ScenarioRunOut
from api.urls import chart_url, job_json, scenario_url
from engine.services import scenarios

router = APIRouter(route_class=JsonRoute, tags=["scenarios"])


@router.post(
    "/scenarios",
    operation_id="run-scenario",
    status_code=202,
    response_model=JobOut,
    responses=responses(
        Answer(202, "the run, as a job", (JobOut,), location("run"), RUN_LINKS),
        KEYED,
        WITH_BODY,
        NOT_FOUND,
    ),
)
def run_scenario(
    request: Request,
    body: ScenarioBody,
    writer: Writer,
    store: StoreDep,
    jobs: JobsDep,
    settings: SettingsDep,
) -> JSONResponse:
    """Check a scenario (the format of `omnistock scenario run`, without `base` files:
    the base is the stored snapshot and ruleset) and play it as a job; follow it at
    /v1/scenarios/{id}. A bad variant or override is a 422 naming it."""
    job = scenarios.submit_scenario(store, jobs, body, settings.job_solver_time_limit_s)
    audit_target(request, job_id=job.id)
    headers = {"Location": scenario_url(job.id)}
    return JSONResponse(job_json(job), status_code=202, headers=headers)


@router.get(
    "/scenarios/{run_id}",
    operation_id="get-scenario-run",
    response_model=ScenarioRunOut,
    responses=responses(KEYED, NOT_FOUND, INVALID),
)
def get_scenario_run(
    run_id: str, reader: TenantReader, store: StoreDep, jobs: JobsDep
) -> dict[str, Any]:
    """A scenario run: its job's status and progress, then the comparison (every KPI per
    variant with deltas against the base) and the charts' URLs."""
    run = scenarios.scenario_run(store, jobs, run_id)
    view: dict[str, Any] = {"id": run.id, "job": job_json(run.job) if run.job else None}
    if run.results is not None:
        view["comparison"] = run.results["comparison"]
        view["notes"] = run.results["notes"]
        view["charts"] = {name: chart_url(run.id, name) for name in run.results["charts"]}
    return view


@router.get(
    "/scenarios/{run_id}/charts/{name}",
    operation_id="get-scenario-chart",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}},
        **responses(KEYED, NOT_FOUND, INVALID),
    },
)
def get_scenario_chart(run_id: str, name: str, reader: TenantReader, store: StoreDep) -> Response:
    """One chart of a finished run, as PNG."""
    png = scenarios.scenario_chart(store, run_id, name)
    return Response(png, media_type=scenarios.CHART_TYPE)
