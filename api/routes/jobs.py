"""Background jobs of the key's tenant: status and progress, and cancelling."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import JobsDep, PrincipalDep
from engine.services import jobs as service

router = APIRouter(tags=["jobs"])


class ProgressOut(BaseModel):
    stage: str
    done: int
    total: int
    fraction: float


class JobOut(BaseModel):
    id: str
    tenant: str
    kind: str
    status: str  # queued | running | finished | failed | cancelled
    progress: ProgressOut
    created_at: str
    started_at: str | None
    ended_at: str | None
    attempts: int  # runs started; one lost with its worker is retried once
    result: dict[str, Any] | None  # a plan job: {"plan_id", "url"}
    error: str | None


@router.get("/jobs/{job_id}", operation_id="get-job", response_model=JobOut)
def get_job(job_id: str, principal: PrincipalDep, jobs: JobsDep) -> dict[str, Any]:
    """A job's status and progress; when finished, its result (a plan job: the plan's id
    and URL); when failed, why."""
    return service.get_job(jobs, principal, job_id).to_json()


@router.delete("/jobs/{job_id}", operation_id="cancel-job", response_model=JobOut)
def cancel_job(job_id: str, principal: PrincipalDep, jobs: JobsDep) -> dict[str, Any]:
    """Cancel a queued or running job (409 if it has already ended)."""
    return service.cancel_job(jobs, principal, job_id).to_json()
