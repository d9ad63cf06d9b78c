"""Scenarios: start a what-if scenario from a form (a shipped scenario file chosen, or a
scenario's YAML pasted), follow its job with the make-a-plan progress bar, then read its
KPI table and charts. The run is the API's POST /v1/scenarios and GET
/v1/scenarios/{id} (engine/services/scenarios.py).

A scenario plays on the tenant's whole stored snapshot: a brand viewer's key, limited
to one brand, may not read it (as over the API).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import yaml
from fastapi import Depends, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.console.web import HEADERS, Visit, VisitDep, console_router, redirect, render, url
from api.deps import get_settings
from api.observe import audit_target
from engine.core.errors import InputError, Issue
from engine.core.settings import Settings
from engine.jobs.base import ENDED
from engine.services import scenarios

router = console_router()

SettingsDep = Annotated[Settings, Depends(get_settings)]

# The scenario files shipped with omnistock (scenarios/*.yaml at the repository's root).
SHIPPED = Path(__file__).resolve().parents[3] / "scenarios"

# "Small": a week played once, with a short warm-up - a run of seconds on the demo, to
# see a scenario's shape before its full run.
SMALL = {"horizon_days": 7, "replan_every_days": 7, "replications": 1, "warmup_days": 14}


def shipped() -> list[str]:
    """The shipped scenarios' names (file stems), sorted."""
    return sorted(p.stem for p in SHIPPED.glob("*.yaml"))


def _document(posted: dict[str, str]) -> dict[str, Any]:
    """The scenario asked for: the pasted YAML, else the shipped file chosen (its base
    files left out: the service plays on the stored snapshot and ruleset)."""
    text = posted.get("yaml", "").strip()
    name = posted.get("shipped", "")
    if text:
        where = "yaml"
    elif name in shipped():
        text, where = (SHIPPED / f"{name}.yaml").read_text(encoding="utf-8"), "shipped"
    else:
        raise InputError([Issue("shipped", "choose a shipped scenario or paste one")], "form")
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise InputError([Issue(where, f"not YAML: {error}")], "form") from None
    if not isinstance(document, dict):
        raise InputError([Issue(where, "a scenario is a mapping (description, variants)")], "form")
    if where == "shipped":
        base = {k: v for k, v in (document.get("base") or {}).items() if k == "mode"}
        document = {**document, "base": base}
    if posted.get("small"):
        document = {**document, "simulation": {**(document.get("simulation") or {}), **SMALL}}
    return document


@router.get("/scenarios")
async def scenarios_form(visit: VisitDep) -> Response:
    """The form (an operator's; a reader of the whole tenant sees no form)."""
    visit.may("read")
    form = None if visit.session.read_only else visit.form("/scenarios")
    return render(visit.request, "scenarios.html.j2", form=form, shipped=shipped(), small=SMALL)


@router.post("/scenarios")
async def run_scenario(visit: VisitDep, settings: SettingsDep) -> Response:
    """Check the scenario and start its run; follow it on its page."""
    _, posted = await visit.accept("/scenarios")
    document = _document(posted)
    limit = settings.job_solver_time_limit_s
    job = await run_in_threadpool(
        scenarios.submit_scenario, visit.store, visit.jobs, document, limit
    )
    audit_target(visit.request, job_id=job.id)
    return redirect(f"/scenarios/{job.id}")


def _run(visit: Visit, run_id: str) -> scenarios.ScenarioRun:
    visit.may("read")
    return scenarios.scenario_run(visit.store, visit.jobs, run_id)


@router.get("/scenarios/{run_id}")
async def scenario_page(visit: VisitDep, run_id: str) -> Response:
    """The run's progress; its KPI table and charts once it has finished."""
    run = await run_in_threadpool(_run, visit, run_id)
    job = run.job
    results = run.results
    return render(
        visit.request,
        "scenario.html.j2",
        run=run,
        job=job,
        ended=job is None or job.status in ENDED,
        comparison=results["comparison"] if results else None,
        notes=results["notes"] if results else [],
        charts=sorted(results["charts"]) if results else [],
    )


@router.get("/scenarios/{run_id}/progress")
async def scenario_progress(visit: VisitDep, run_id: str) -> Response:
    """The run's progress for the page's script to poll (as a plan job's)."""
    run = await run_in_threadpool(_run, visit, run_id)
    job = run.job
    ended = job is None or job.status in ENDED
    body = {
        "status": job.status if job else "finished",
        "stage": job.progress.stage if job else "",
        "done": job.progress.done if job else 0,
        "total": job.progress.total if job else 0,
        "label": f"{job.status} · {job.progress.stage}" if job else "finished",
        "finished": ended,
        "next": url(f"/scenarios/{run_id}") if ended else None,
    }
    return JSONResponse(body, headers=HEADERS)


@router.get("/scenarios/{run_id}/charts/{name}")
async def scenario_chart(visit: VisitDep, run_id: str, name: str) -> Response:
    """One chart of a finished run, as PNG (the page's <img>)."""
    visit.may("read")
    png = await run_in_threadpool(scenarios.scenario_chart, visit.store, run_id, name)
    return Response(png, media_type=scenarios.CHART_TYPE, headers=HEADERS)
