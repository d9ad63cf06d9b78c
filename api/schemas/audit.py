"""Models of the audit log route."""

from __future__ import annotations

from pydantic import BaseModel, Field


class AuditEntry(BaseModel):
    at: str = Field(description="when the request was answered (UTC, ISO 8601)")
    tenant: str
    key_id: str = Field(description="the key that made the request")
    role: str
    method: str
    route: str = Field(description="the route's template, e.g. /v1/plans/{plan_id}/publish")
    target: dict[str, str] = Field(
        description="the ids it acted on: the path's, the Idempotency-Key, an order's shop "
        "and SKU, the plan or job it made"
    )
    status: int = Field(description="the HTTP status it was answered with")
    request_id: str
