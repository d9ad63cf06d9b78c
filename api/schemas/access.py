"""Models of the access routes."""

from __future__ import annotations

from pydantic import BaseModel

from engine.access.roles import Role


class WhoAmI(BaseModel):
    key_id: str
    tenant: str
    role: Role
    brand: str | None  # set for brand_viewer keys only
