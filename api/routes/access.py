"""Who the request's API key says it is: the end-to-end check of the key dependency."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import PrincipalDep
from api.errors import JsonRoute
from api.schemas.access import WhoAmI
from api.schemas.errors import KEY, responses

router = APIRouter(route_class=JsonRoute)


@router.get(
    "/whoami",
    operation_id="whoami",
    tags=["access"],
    response_model=WhoAmI,
    responses=responses(KEY),
)
def whoami(principal: PrincipalDep) -> WhoAmI:
    """The tenant, role and brand of the key in `Authorization: Bearer KEY`."""
    return WhoAmI(
        key_id=principal.key_id,
        tenant=principal.tenant,
        role=principal.role,
        brand=principal.brand,
    )
