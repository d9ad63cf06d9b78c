"""Who the request's API key says it is: the end-to-end check of the key dependency."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import PrincipalDep
from engine.access.roles import Role

router = APIRouter()


class WhoAmI(BaseModel):
    key_id: str
    tenant: str
    role: Role
    brand: str | None  # set for brand_viewer keys only


@router.get("/whoami", operation_id="whoami", tags=["access"], response_model=WhoAmI)
def whoami(principal: PrincipalDep) -> WhoAmI:
    """The tenant, role and brand of the key in `Authorization: Bearer KEY`."""
    return WhoAmI(
        key_id=principal.key_id,
        tenant=principal.tenant,
        role=principal.role,
        brand=principal.brand,
    )
