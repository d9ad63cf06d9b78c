"""The tenant's snapshot: replaced whole, its stock version, its stock rows patched."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Reader, StoreDep, Writer
from api.errors import JsonRoute
from api.schemas.errors import KEYED, NOT_FOUND, WITH_BODY, StaleStock, conflicts, responses
from api.schemas.snapshots import SnapshotBody, StockPatch, StockVersion
from engine.services import snapshots

router = APIRouter(route_class=JsonRoute, tags=["planning"])


@router.put(
    "/snapshot",
    operation_id="put-snapshot",
    response_model=StockVersion,
    responses=responses(KEYED, WITH_BODY),
)
def put_snapshot(body: SnapshotBody, writer: Writer, store: StoreDep) -> StockVersion:
    """Replace the tenant's snapshot; returns the new stock version."""
    return StockVersion(stock_version=snapshots.put_snapshot(store, body))


@router.get(
    "/snapshot/version",
    operation_id="get-stock-version",
    response_model=StockVersion,
    responses=responses(KEYED),
)
def get_stock_version(reader: Reader, store: StoreDep) -> StockVersion:
    """The current stock version (0 before the first snapshot)."""
    return StockVersion(stock_version=snapshots.stock_version(store))


@router.patch(
    "/snapshot/stock",
    operation_id="patch-stock",
    response_model=StockVersion,
    responses=responses(KEYED, WITH_BODY, NOT_FOUND, conflicts(StaleStock)),
)
def patch_stock(body: StockPatch, writer: Writer, store: StoreDep) -> StockVersion:
    """Replace or add stock rows at a stock version; 409 naming the current one if stale."""
    version = snapshots.patch_stock(store, body.stock, body.version)
    return StockVersion(stock_version=version)
