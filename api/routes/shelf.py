"""Shelf ranking, product selection and the two-way stock check over HTTP; the work is
engine/shelf and engine/checks, as `omnistock rank|select|check` do it. The documents
come in the request (nothing of the tenant's state is read), but the routes answer
only callers whose key may read."""

from __future__ import annotations

from collections import Counter

from fastapi import APIRouter

from api.deps import Reader, SettingsDep
from api.schemas.shelf import CheckRequest, CheckResponse, RankRequest, SelectRequest
from engine.checks.two_way import check_stock
from engine.core.io import parse_plan, parse_snapshot
from engine.shelf.from_plan import selection_from_plan, shelf_from_plan
from engine.shelf.inputs import parse_shelf_input, with_rules
from engine.shelf.rank import Ranking, rank
from engine.shelf.selection import Selection, parse_selection_input, select

router = APIRouter()


@router.post("/rank", operation_id="rank-shelf", tags=["shelf"], response_model=Ranking)
def rank_shelf(body: RankRequest, reader: Reader, settings: SettingsDep) -> Ranking:
    """Rank a shop's shelf: the order, each product's move and its reason."""
    if body.shelf is not None:
        shelf = parse_shelf_input(body.shelf, "body.shelf")
    else:
        assert body.from_plan is not None
        src = body.from_plan
        snapshot = parse_snapshot(src.snapshot, "body.from_plan.snapshot")
        plan = parse_plan(src.plan, "body.from_plan.plan")
        shelf = with_rules(shelf_from_plan(snapshot, plan, src.shop, src.slots), src.rules)
    return rank(shelf, body.solver, settings.solver_time_limit_s)


@router.post("/select", operation_id="select-products", tags=["shelf"], response_model=Selection)
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


@router.post("/check", operation_id="check-stock", tags=["checks"], response_model=CheckResponse)
def check(body: CheckRequest, reader: Reader) -> CheckResponse:
    """The two-way check: listed vs the published plan vs available stock."""
    snapshot = parse_snapshot(body.snapshot, "body.snapshot")
    plan = parse_plan(body.plan, "body.plan") if body.plan is not None else None
    warnings = check_stock(snapshot, plan, body.thresholds)
    return CheckResponse(counts=dict(Counter(w.code for w in warnings)), warnings=warnings)
