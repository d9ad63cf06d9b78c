"""What-if scenarios of the key's tenant, played on its stored snapshot and ruleset as
jobs; results are the side-by-side comparison and PNG charts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.deps import JobsDep, PrincipalDep, SettingsDep, StoreDep
from api.routes.jobs import JobOut
from engine.scenarios import tasks as scenarios

router = APIRouter(tags=["scenarios"])

_EXAMPLE: dict[str, Any] = {
    "description": "Double-11: peak mode and 3x demand on Nov 11-12",
    "simulation": {"horizon_days": 14, "replan_every_days": 7, "seed": 1},
    "variants": [
        {"name": "peak", "mode": "peak"},
        {
            "name": "peak-uplift",
            "mode": "peak",
            "overrides": [
                {"op": "uplift", "factor": 3, "dates": {"from": "2026-11-11", "to": "2026-11-12"}}
            ],
        },
    ],
}
ScenarioBody = Annotated[dict[str, Any], Body(examples=[_EXAMPLE])]


class ScenarioRunOut(BaseModel):
    id: str
    job: JobOut | None  # None once the job record has expired; the results stay
    comparison: dict[str, Any] | None = None  # set when the run has finished
    notes: list[str] | None = None
    charts: dict[str, str] | None = None  # chart name -> URL of the PNG


@router.post(
    "/scenarios",
    operation_id="run-scenario",
    status_code=202,
    response_model=JobOut,
)
def run_scenario(
    body: ScenarioBody,
    principal: PrincipalDep,
    store: StoreDep,
    jobs: JobsDep,
    settings: SettingsDep,
) -> JSONResponse:
    """Check a scenario (the format of `omnistock scenario run`, without `base` files:
    the base is the stored snapshot and ruleset) and play it as a job; follow it at
    /v1/scenarios/{id}. A bad variant or override is a 422 naming it."""
    job = scenarios.submit_scenario(store, jobs, principal, body, settings.job_solver_time_limit_s)
    url = f"/v1/scenarios/{job.id}"
    return JSONResponse(job.to_json(), status_code=202, headers={"Location": url})


@router.get("/scenarios/{run_id}", operation_id="get-scenario-run", response_model=ScenarioRunOut)
def get_scenario_run(
    run_id: str, principal: PrincipalDep, store: StoreDep, jobs: JobsDep
) -> dict[str, Any]:
    """A scenario run: its job's status and progress, then the comparison (every KPI per
    variant with deltas against the base) and the charts' URLs."""
    return scenarios.scenario_run(store, jobs, principal, run_id)


@router.get(
    "/scenarios/{run_id}/charts/{name}",
    operation_id="get-scenario-chart",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
def get_scenario_chart(
    run_id: str, name: str, principal: PrincipalDep, store: StoreDep
) -> Response:
    """One chart of a finished run, as PNG."""
    png = scenarios.scenario_chart(store, principal, run_id, name)
    return Response(png, media_type=scenarios.CHART_TYPE)
