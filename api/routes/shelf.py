"""Shelf ranking, product selection and the two-way stock check over HTTP; the work is
engine/shelf and engine/checks, as `omnistock rank|select|check` do it. The documents
come in the request (nothing of the tenant's state is read), but the routes answer
only callers whose key may read. A ranking has a budget: a shelf above
`shelf_max_cells` products x slots is refused, a solve stops after `shelf_time_limit_s`."""

from __future__ import annotations

from collections import Counter

from fastapi import APIRouter

from api.deps import Reader, SettingsDep
from api.errors import JsonRoute
from api.schemas.errors import (
    KEYED,
    SOLVER_FAILED,
    SOLVER_REFUSED,
    WITH_BODY,
    RulesConflict,
    conflicts,
    responses,
)
from api.schemas.shelf import CheckRequest, CheckResponse, RankRequest, SelectRequest
from engine.checks.two_way import check_stock
from engine.core.errors import InputError, Issue
from engine.core.io import parse_plan, parse_snapshot
from engine.shelf.from_plan import selection_from_plan, shelf_from_plan
from engine.shelf.inputs import ShelfInput, parse_shelf_input, with_rules
from engine.shelf.rank import Ranking, rank
from engine.shelf.selection import Selection, parse_selection_input, select

router = APIRouter(route_class=JsonRoute)


@router.post(
    "/rank",
    operation_id="rank-shelf",
    tags=["shelf"],
    response_model=Ranking,
    responses=responses(KEYED, WITH_BODY, SOLVER_REFUSED, conflicts(RulesConflict), SOLVER_FAILED),
)
def rank_shelf(body: RankRequest, reader: Reader, settings: SettingsDep) -> Ranking:
    """Rank a shop's shelf: the order, each product's move and its reason."""
    if body.shelf is not None:
        shelf = parse_shelf_input(body.shelf, "body.shelf")
        where = "shelf"
    else:
        assert body.from_plan is not None
        src = body.from_plan
        snapshot = parse_snapshot(src.snapshot, "body.from_plan.snapshot")
        plan = parse_plan(src.plan, "body.from_plan.plan")
        shelf = with_rules(shelf_from_plan(snapshot, plan, src.shop, src.slots), src.rules)
        where = "from_plan"
    _within_budget(shelf, where, settings.shelf_max_cells)
    return rank(shelf, body.solver, settings.shelf_time_limit_s)


def _within_budget(shelf: ShelfInput, where: str, max_cells: int) -> None:
    """Refuse up front a shelf larger than this server ranks in one request: past it,
    building the model alone holds a worker for seconds (9,000 x 1,000 took 27 s)."""
    cells = len(shelf.products) * shelf.slots
    if cells > max_cells:
        message = (
            f"{len(shelf.products):,} products x {shelf.slots:,} slots = {cells:,} cells, "
            f"above this server's limit of {max_cells:,} (OMNISTOCK_SHELF_MAX_CELLS): "
            "rank fewer products or slots"
        )
        raise InputError([Issue(where, message)], "body")


@router.post(
    "/select",
    operation_id="select-products",
    tags=["shelf"],
    response_model=Selection,
    responses=responses(KEYED, WITH_BODY),
)
def select_products(body: SelectRequest, reader: Reader) -> Selection:
    """Which products a shop should list next, with reasons and units per day."""
    if body.selection is not None:
        return select(parse_selection_input(body.selection, "body.selection"))
    assert body.from_plan is not None
    src = body.from_plan
    snapshot = parse_snapshot(src.snapshot, "body.from_plan.snapshot")
    plan = parse_plan(src.plan, "body.from_plan.plan")
    chosen = selection_from_plan(snapshot, plan, src.shop, src.listing_limit, src.max_per_category)
    return select(chosen)


@router.post(
    "/check",
    operation_id="check-stock",
    tags=["checks"],
    response_model=CheckResponse,
    responses=responses(KEYED, WITH_BODY),
)
def check(body: CheckRequest, reader: Reader) -> CheckResponse:
    """The two-way check: listed vs the published plan vs available stock."""
    snapshot = parse_snapshot(body.snapshot, "body.snapshot")
    plan = parse_plan(body.plan, "body.plan") if body.plan is not None else None
    warnings = check_stock(snapshot, plan, body.thresholds)
    return CheckResponse(counts=dict(Counter(w.code for w in warnings)), warnings=warnings)
