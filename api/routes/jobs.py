"""Background jobs of the key's tenant: status and progress, and cancelling. A job is
read with the permission of what it makes: a plan job by any reader (a brand viewer
sees a failure's causes of its brand only); a scenario job (as its run at
/v1/scenarios/{id}) and a listing job (every shop's counts) by a whole-tenant reader."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import JobsDep, Reader, Writer
from api.errors import JsonRoute
from api.schemas.errors import INVALID, KEYED, NOT_FOUND, JobEnded, conflicts, responses
from api.schemas.jobs import JobOut
from api.urls import job_json
from engine.access.roles import authorize
from engine.scenarios.tasks import SCENARIO_JOB
from engine.services.brand_cut import job_for_brand
from engine.services.listings import LISTING_JOB
from engine.services.reports import REPORT_JOB, REPORT_SEND_JOB
from engine.services.settlements import SETTLEMENT_JOB

router = APIRouter(route_class=JsonRoute, tags=["jobs"])

# Kinds whose jobs make tenant-wide results: readable with a key for the whole tenant.
# A listing job's queue job carries every shop's counts: a brand viewer reads its brand's
# listings at /v1/listings instead.
TENANT_WIDE_KINDS = frozenset(
    {
        SCENARIO_JOB.name,
        LISTING_JOB.name,
        SETTLEMENT_JOB.name,
        REPORT_JOB.name,
        REPORT_SEND_JOB.name,
    }
)


@router.get(
    "/jobs/{job_id}",
    operation_id="get-job",
    response_model=JobOut,
    responses=responses(KEYED, NOT_FOUND, INVALID),
)
def get_job(job_id: str, reader: Reader, jobs: JobsDep) -> dict[str, Any]:
    """A job's status and progress; when finished, its result (a plan job: the plan's id
    and URL); when failed, why."""
    job = jobs.get(reader.tenant, job_id)
    if job.kind in TENANT_WIDE_KINDS:
        authorize(reader, "read", reader.tenant, None)  # 403 for a brand-scoped key
    if reader.brand is not None:
        job = job_for_brand(job, reader.brand)
    return job_json(job)


@router.delete(
    "/jobs/{job_id}",
    operation_id="cancel-job",
    response_model=JobOut,
    responses=responses(KEYED, NOT_FOUND, INVALID, conflicts(JobEnded)),
)
def cancel_job(job_id: str, writer: Writer, jobs: JobsDep) -> dict[str, Any]:
    """Cancel a queued or running job (409 if it has already ended)."""
    return job_json(jobs.cancel(writer.tenant, job_id))
