"""The price guard: the tenant's price policy (a new version runs the guard), checks on
demand (over list or listed prices), and the latest check (a brand viewer: its brand's
rows)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Reader, TenantReader, Writer
from api.errors import JsonRoute
from api.routes.catalog import CatalogDep
from api.schemas.errors import DATABASE, KEYED, NOT_FOUND, WITH_BODY, responses
from api.schemas.prices import CheckOut, PolicyBody, PolicyOut, PriceCheckRequest
from engine.services import prices as service

router = APIRouter(route_class=JsonRoute, tags=["prices"], prefix="/prices")
DB = (*KEYED, DATABASE)


@router.put(
    "/policy",
    operation_id="put-price-policy",
    response_model=CheckOut,
    responses=responses(DB, WITH_BODY),
)
def put_policy(body: PolicyBody, writer: Writer, catalog: CatalogDep) -> CheckOut:
    """Store a new version of the price policy and guard every SKU under it."""
    return CheckOut(**service.put_policy(catalog, writer.tenant, body, writer.key_id, "body"))


@router.get(
    "/policy",
    operation_id="get-price-policy",
    response_model=PolicyOut,
    responses=responses(DB, WITH_BODY[1:]),
)
def get_policy(reader: TenantReader, catalog: CatalogDep) -> PolicyOut:
    """The current price policy and its version (422 before the first)."""
    version, body = service.policy(catalog, reader.tenant)
    return PolicyOut(version=version, policy=body)


@router.post(
    "/checks",
    operation_id="run-price-check",
    response_model=CheckOut,
    responses=responses(DB, WITH_BODY),
)
def run_check(body: PriceCheckRequest, writer: Writer, catalog: CatalogDep) -> CheckOut:
    """Guard every SKU now; every SKU-shop below its floor with the promotions that take
    it there, the price each leaves, and the basket."""
    listed = service.listed_from([row.model_dump() for row in body.listed or []])
    result = service.run_check(
        catalog, writer.tenant, "api", body.at, listed if body.listed is not None else None
    )
    return CheckOut(**result)


@router.get(
    "/checks/latest",
    operation_id="get-latest-price-check",
    response_model=CheckOut,
    responses=responses(DB, NOT_FOUND, WITH_BODY[1:]),
)
def latest_check(reader: Reader, catalog: CatalogDep) -> CheckOut:
    """The newest check (a brand viewer sees its brand's rows)."""
    return CheckOut(**service.latest(catalog, reader.tenant, reader.brand))
