"""What-if scenario runs of the tenant: checked when asked for, played as a job
(engine/scenarios/tasks.py), kept with their comparison and charts."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from engine.jobs.base import JobInfo, JobNotFound, JobQueue
from engine.scenarios.tasks import SCENARIO_JOB, check_scenario
from engine.store.base import JsonObject, Store
from engine.store.errors import NotFound

CHART_TYPE = "image/png"


@dataclass(frozen=True)
class ScenarioRun:
    """A run: its job (None once the job record has expired) and, once finished, its
    results (`comparison`, `notes` and `charts` by name)."""

    id: str
    job: JobInfo | None
    results: JsonObject | None


def submit_scenario(
    store: Store, jobs: JobQueue, document: JsonObject, time_limit_s: float
) -> JobInfo:
    """Check the scenario against the stored data, then queue it."""
    check_scenario(store, document)
    args = {"scenario": document, "time_limit_s": time_limit_s}
    return jobs.submit(store.tenant, SCENARIO_JOB.name, args)


def scenario_run(store: Store, jobs: JobQueue, run_id: str) -> ScenarioRun:
    """The run's job (status, progress) and, once finished, its results."""
    try:
        job: JobInfo | None = jobs.get(store.tenant, run_id)
    except JobNotFound:
        job = None  # jobs are forgotten after a while; stored runs are not
    if job is not None and job.kind != SCENARIO_JOB.name:
        raise NotFound("scenario run", run_id)
    try:
        results: JsonObject | None = store.get_scenario_run(run_id)
    except NotFound:
        if job is None:
            raise
        results = None
    return ScenarioRun(run_id, job, results)


def scenario_chart(store: Store, run_id: str, name: str) -> bytes:
    """One chart of a finished run (CHART_TYPE); NotFound for a name it does not have."""
    charts = store.get_scenario_run(run_id)["charts"]
    if name not in charts:
        raise NotFound(f"chart of scenario run {run_id}", name)
    return base64.b64decode(charts[name])
