"""The tenant's audit log: every write made through the API, newest first; for admins."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import Auditor, StoreDep
from api.errors import JsonRoute
from api.schemas.audit import AuditEntry
from api.schemas.errors import INVALID, KEYED, responses
from engine.services import audit

router = APIRouter(route_class=JsonRoute, tags=["access"])


@router.get(
    "/audit",
    operation_id="get-audit-log",
    response_model=list[AuditEntry],
    responses=responses(KEYED, INVALID),
)
def get_audit_log(
    auditor: Auditor,
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="newest entries to return")] = 100,
) -> list[dict[str, Any]]:
    """Who wrote what and when, and how it ended: one entry per request that asked to
    write (refused ones too), newest first. An admin key of the tenant only."""
    return audit.entries(store, limit)
