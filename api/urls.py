"""The URLs the API hands out (the engine names things by id, the API says where to
read them): a plan, a job, a scenario run and its charts, a listing job, a settlement
run; and a job as the API shows it, its result naming what the job made with that
thing's URL."""

from __future__ import annotations

from typing import Any

from engine.jobs.base import JobInfo

API_PREFIX = "/v1"  # every route but health and metrics is mounted under it
# The operators' console's pages (api/console), beside the API.
CONSOLE_PREFIX = "/console"


def plan_url(plan_id: str) -> str:
    return f"{API_PREFIX}/plans/{plan_id}"


def job_url(job_id: str) -> str:
    return f"{API_PREFIX}/jobs/{job_id}"


def scenario_url(run_id: str) -> str:
    return f"{API_PREFIX}/scenarios/{run_id}"


def chart_url(run_id: str, name: str) -> str:
    return f"{scenario_url(run_id)}/charts/{name}"


def listing_url(listing_id: str) -> str:
    return f"{API_PREFIX}/listings/{listing_id}"


def settlement_url(run_id: str) -> str:
    return f"{API_PREFIX}/settlements/{run_id}"


def report_url(build_id: str) -> str:
    return f"{API_PREFIX}/reports/{build_id}"


# Per job kind: the field of its result naming what it made, and that thing's URL.
_MADE = {
    "plan": ("plan_id", plan_url),
    "scenario": ("scenario_id", scenario_url),
    "listing": ("listing_id", listing_url),
    "settlement": ("settlement_id", settlement_url),
    "report": ("report_id", report_url),
    "report-send": ("report_id", report_url),
}


def job_json(job: JobInfo) -> dict[str, Any]:
    """The job's JSON (JobOut); a finished job's result also carries the URL of what
    it made."""
    body = job.to_json()
    if job.result is not None and job.kind in _MADE:
        field, url = _MADE[job.kind]
        body["result"] = {**job.result, "url": url(job.result[field])}
    return body
