"""Models of the job routes (a job is also what a plan or scenario request answers
with when it runs as one)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from api.schemas.errors import links


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


# Where a job's id leads (OpenAPI links of the answers that start one).
JOB_LINKS = links("id", ("get-job", "job_id"), ("cancel-job", "job_id"))
