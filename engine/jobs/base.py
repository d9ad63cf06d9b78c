"""What a job is, whichever queue runs it: an id, its tenant, a kind, a status, progress,
and at the end a result or an error. Both queues (engine/jobs/local.py on a process
pool, engine/jobs/rq_queue.py on RQ) keep this shape, so routes and tests see one API.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from engine.store.base import Store
from engine.store.errors import NotFound, StoreError

JobStatus = Literal["queued", "running", "finished", "failed", "cancelled"]
ENDED: frozenset[str] = frozenset({"finished", "failed", "cancelled"})
QUEUE = "omnistock"  # the RQ queue API workers submit to and `omnistock worker` reads


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class Progress:
    """Where a job is: a named stage and how many of `total` steps are done."""

    stage: str = "queued"
    done: int = 0
    total: int = 1

    @classmethod
    def waiting(cls, attempts: int) -> Progress:
        """A queued job's progress: nothing of a run it may have had before it went back
        in line (that stage is over), only whether it waits for a first run or a retry."""
        return cls("queued" if attempts == 0 else "retrying")

    @property
    def fraction(self) -> float:
        return round(min(self.done / self.total, 1.0), 4) if self.total else 0.0


@dataclass
class JobInfo:
    id: str
    tenant: str
    kind: str
    status: JobStatus
    progress: Progress = field(default_factory=Progress)
    created_at: str = field(default_factory=utc_now)
    started_at: str | None = None
    ended_at: str | None = None
    attempts: int = 0  # runs started; a run lost with its worker is retried once
    result: dict[str, Any] | None = None
    error: str | None = None
    # The error's causes with the brands each concerns, where the kind said (see
    # engine/jobs/kinds.py JobFailed); kept for cutting `error` to a brand, never shown.
    error_parts: list[dict[str, Any]] | None = None

    def to_json(self) -> dict[str, Any]:
        body = asdict(self)
        del body["error_parts"]
        body["progress"]["fraction"] = self.progress.fraction
        return body


class JobNotFound(NotFound):
    """No job with this id for this tenant (another tenant's job is not found either)."""

    def __init__(self, job_id: str) -> None:
        super().__init__("job", job_id)


class JobAlreadyEnded(StoreError):
    """A cancel of a job that has finished, failed or been cancelled already."""

    def __init__(self, job_id: str, status: str) -> None:
        self.job_id = job_id
        self.status = status
        super().__init__(f"job {job_id!r} has already ended ({status}); nothing to cancel")


class TenantStores(Protocol):
    """Each tenant's store, where a queue prepares and finishes that tenant's jobs."""

    def get(self, tenant: str) -> Store: ...


class JobQueue(Protocol):
    """Runs jobs away from the request; every call is scoped to one tenant."""

    def submit(self, tenant: str, kind: str, args: dict[str, Any]) -> JobInfo: ...

    def get(self, tenant: str, job_id: str) -> JobInfo: ...

    def cancel(self, tenant: str, job_id: str) -> JobInfo: ...

    def ping(self) -> bool: ...

    def close(self) -> None: ...
