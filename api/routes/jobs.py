"""Background jobs of the key's tenant: status and progress, and cancelling."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import JobsDep, Reader, Writer
from api.schemas.jobs import JobOut
from api.urls import job_json

router = APIRouter(tags=["jobs"])


@router.get("/jobs/{job_id}", operation_id="get-job", response_model=JobOut)
def get_job(job_id: str, reader: Reader, jobs: JobsDep) -> dict[str, Any]:
    """A job's status and progress; when finished, its result (a plan job: the plan's id
    and URL); when failed, why."""
    return job_json(jobs.get(reader.tenant, job_id))


@router.delete("/jobs/{job_id}", operation_id="cancel-job", response_model=JobOut)
def cancel_job(job_id: str, writer: Writer, jobs: JobsDep) -> dict[str, Any]:
    """Cancel a queued or running job (409 if it has already ended)."""
    return job_json(jobs.cancel(writer.tenant, job_id))
