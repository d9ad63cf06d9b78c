"""Snapshot, ruleset, plans, publishing and orders of the key's tenant. Thin: every route
is one call to engine/services/planning.py, which checks the key's role and brand (`authorize`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import JobsDep, PrincipalDep, SettingsDep, StoreDep
from api.routes.jobs import JobOut
from engine.jobs.base import JobInfo
from engine.services import planning as service
from engine.services.jobs import RunAs, plan_now_or_job

router = APIRouter()

_SNAPSHOT_EXAMPLE: dict[str, Any] = {
    "tenant": "demo",
    "as_of": "2026-11-11T00:00:00+08:00",
    "mode": "normal",
    "brands": [{"id": "b1", "name": "Brand"}],
    "warehouses": [{"id": "W1", "kind": "sellable"}],
    "shops": [{"id": "tm-b1", "brand": "b1", "platform": "tmall", "priority": 1}],
    "skus": [{"id": "S1", "brand": "b1", "price": "10.00", "components": []}],
    "stock": [{"sku": "S1", "warehouse": "W1", "on_hand": 10}],
    "velocity": [],
    "listed": [],
}
_RULESET_EXAMPLE: dict[str, Any] = {
    "rules": [{"id": "r-safety", "type": "safety_stock", "quantity": 2}]
}
SnapshotBody = Annotated[dict[str, Any], Body(examples=[_SNAPSHOT_EXAMPLE])]
RulesetBody = Annotated[dict[str, Any], Body(examples=[_RULESET_EXAMPLE])]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StockVersion(BaseModel):
    stock_version: int


class StockPatch(_Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"version": 1, "stock": [{"sku": "S1", "warehouse": "W1", "on_hand": 7}]}]
        },
    )
    version: int  # the stock version the rows apply to
    stock: list[dict[str, Any]] = Field(min_length=1)


class RulesetVersion(BaseModel):
    version: int


class StoredRuleset(BaseModel):
    version: int
    ruleset: dict[str, Any]


class RulesetCheck(BaseModel):
    valid: bool
    rules: int


class PlanRequest(_Strict):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"mode": "peak", "run": "auto"}]}
    )
    mode: Literal["normal", "peak"] | None = None  # default: the mode in force
    # auto: answer now up to the configured size, else start a job; now / job: force it
    run: RunAs = "auto"


class PlanOut(BaseModel):
    plan_id: str
    stock_version: int  # the stock version the plan was computed on
    ruleset_version: int
    brand: str | None  # set when cut to a brand viewer's brand
    plan: dict[str, Any]


class CellStoryOut(BaseModel):
    shop: str
    quantity: int
    shared: int
    why: str


class SkuStoryOut(BaseModel):
    sku: str
    pool_lines: list[str]
    cells: list[CellStoryOut]
    unallocated: list[str]


class PublishRequest(_Strict):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"note": "double-11 morning"}]}
    )
    note: str | None = None


class PeakChecks(BaseModel):
    """Peak mode only: the stock check before the publish and after it (read back)."""

    before: list[dict[str, Any]]
    after: list[dict[str, Any]]


class PublishOut(BaseModel):
    plan_id: str
    idempotency_key: str
    stock_version: int
    cells: int
    units: int = Field(description="exclusive units on the cells")
    shared_units: int = Field(0, description="units of the shared parts, each counted once")
    peak_checks: PeakChecks | None = None


class PublishedCell(BaseModel):
    shop: str
    sku: str
    quantity: int = Field(description="the shop's own units left")
    shared: int = Field(
        0, description="the SKU's shared part left, listed on this shop and others alike"
    )


class ModeRequest(_Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "mode": "peak",
                    "start": "2026-11-10T20:00:00+08:00",
                    "end": "2026-11-12T02:00:00+08:00",
                }
            ]
        },
    )
    mode: Literal["normal", "peak"]
    start: str | None = None
    end: str | None = None


class ModeOut(BaseModel):
    mode: str
    start: str | None
    end: str | None
    effective: str


class OrderRequest(_Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"shop": "tm-b1", "sku": "S1", "quantity": 1}]},
    )
    shop: str = Field(min_length=1)
    sku: str = Field(min_length=1)
    quantity: int = Field(ge=1)


class OrderOut(BaseModel):
    shop: str
    sku: str
    quantity: int
    remaining: int = Field(description="what the shop can still sell: own units + shared")
    from_shared: int = Field(0, description="units of this order taken from the shared part")


@router.put(
    "/snapshot", operation_id="put-snapshot", tags=["planning"], response_model=StockVersion
)
def put_snapshot(body: SnapshotBody, principal: PrincipalDep, store: StoreDep) -> StockVersion:
    """Replace the tenant's snapshot; returns the new stock version."""
    return StockVersion(stock_version=service.put_snapshot(store, principal, body))


@router.get(
    "/snapshot/version",
    operation_id="get-stock-version",
    tags=["planning"],
    response_model=StockVersion,
)
def get_stock_version(principal: PrincipalDep, store: StoreDep) -> StockVersion:
    """The current stock version (0 before the first snapshot)."""
    return StockVersion(stock_version=service.stock_version(store, principal))


@router.patch(
    "/snapshot/stock", operation_id="patch-stock", tags=["planning"], response_model=StockVersion
)
def patch_stock(body: StockPatch, principal: PrincipalDep, store: StoreDep) -> StockVersion:
    """Replace or add stock rows at a stock version; 409 naming the current one if stale."""
    version = service.patch_stock(store, principal, body.stock, body.version)
    return StockVersion(stock_version=version)


@router.put(
    "/ruleset", operation_id="put-ruleset", tags=["planning"], response_model=RulesetVersion
)
def put_ruleset(body: RulesetBody, principal: PrincipalDep, store: StoreDep) -> RulesetVersion:
    """Store a new ruleset version, checked against the current snapshot."""
    return RulesetVersion(version=service.put_ruleset(store, principal, body))


@router.get("/ruleset", operation_id="get-ruleset", tags=["planning"], response_model=StoredRuleset)
def get_ruleset(principal: PrincipalDep, store: StoreDep) -> StoredRuleset:
    """The latest ruleset and its version."""
    version, ruleset = service.get_ruleset(store, principal)
    return StoredRuleset(version=version, ruleset=ruleset)


@router.post(
    "/ruleset/validate",
    operation_id="validate-ruleset",
    tags=["planning"],
    response_model=RulesetCheck,
)
def validate_ruleset(body: RulesetBody, principal: PrincipalDep, store: StoreDep) -> RulesetCheck:
    """Check a ruleset as PUT /v1/ruleset would, without storing it."""
    return RulesetCheck(valid=True, rules=service.validate_ruleset(store, principal, body))


@router.post(
    "/plans",
    operation_id="create-plan",
    tags=["planning"],
    response_model=PlanOut,
    responses={202: {"model": JobOut, "description": "a large plan runs as a job"}},
)
def create_plan(
    request: Request,
    principal: PrincipalDep,
    store: StoreDep,
    jobs: JobsDep,
    settings: SettingsDep,
    body: PlanRequest | None = None,
) -> Any:
    """Plan the stored snapshot with the latest ruleset; the plan is stored. Up to
    OMNISTOCK_SYNC_PLAN_MAX_CELLS cells the plan comes back now; above (or with
    `run: job`), 202 with the job to follow at its URL (Location header)."""
    body = body or PlanRequest()
    result = plan_now_or_job(
        store,
        jobs,
        principal,
        body.mode,
        body.run,
        settings.sync_plan_max_cells,
        settings.solver_time_limit_s,
        settings.job_solver_time_limit_s,
    )
    if isinstance(result, JobInfo):
        url = f"/v1/jobs/{result.id}"
        return JSONResponse(result.to_json(), status_code=202, headers={"Location": url})
    request.app.state.metrics.record_plan(result["plan"])
    return result


@router.get("/plans/{plan_id}", operation_id="get-plan", tags=["planning"], response_model=PlanOut)
def get_plan(plan_id: str, principal: PrincipalDep, store: StoreDep) -> dict[str, Any]:
    """A stored plan (a brand viewer sees its brand's SKUs and shops only)."""
    return service.get_plan(store, principal, plan_id)


@router.get(
    "/plans/{plan_id}/explain",
    operation_id="explain-sku",
    tags=["planning"],
    response_model=SkuStoryOut,
)
def explain_sku(plan_id: str, sku: str, principal: PrincipalDep, store: StoreDep) -> dict[str, Any]:
    """Why the plan gives each shop what it gives for one SKU."""
    return service.explain(store, principal, plan_id, sku)


@router.post(
    "/plans/{plan_id}/publish",
    operation_id="publish-plan",
    tags=["planning"],
    response_model=PublishOut,
)
def publish_plan(
    plan_id: str,
    principal: PrincipalDep,
    store: StoreDep,
    idempotency_key: Annotated[str, Header(min_length=1, max_length=200)],
    body: PublishRequest | None = None,
) -> dict[str, Any]:
    """Publish the plan's quantities for orders; refused (409) if the stock changed since
    it was computed, or in peak mode if the stock check finds a high warning. Repeating a
    request with the same Idempotency-Key is safe."""
    request = (body or PublishRequest()).model_dump()
    return service.publish(store, principal, plan_id, idempotency_key, request)


@router.get(
    "/published",
    operation_id="get-published",
    tags=["planning"],
    response_model=list[PublishedCell],
)
def get_published(principal: PrincipalDep, store: StoreDep) -> list[dict[str, Any]]:
    """The published quantities left per shop and SKU: the shop's own units and the
    shared part it lists (one pool per SKU, sold by whichever shop's order comes first)."""
    return service.published(store, principal)


@router.post("/orders", operation_id="create-order", tags=["planning"], response_model=OrderOut)
def create_order(body: OrderRequest, principal: PrincipalDep, store: StoreDep) -> dict[str, Any]:
    """Consume published stock: the shop's own units first, then the SKU's shared part
    where the shop lists it; 409 with the available quantity when short."""
    return service.order(store, principal, body.shop, body.sku, body.quantity)


@router.get("/mode", operation_id="get-mode", tags=["mode"], response_model=ModeOut)
def get_mode(principal: PrincipalDep, store: StoreDep) -> dict[str, Any]:
    """The tenant's mode, and the one in force now (a scheduled peak only in its window)."""
    return service.get_mode(store, principal)


@router.put("/mode", operation_id="put-mode", tags=["mode"], response_model=ModeOut)
def put_mode(body: ModeRequest, principal: PrincipalDep, store: StoreDep) -> dict[str, Any]:
    """Switch to normal or peak (Double-11), optionally between `start` and `end`; every
    worker sharing the store sees it at once."""
    return service.put_mode(store, principal, body.model_dump())
