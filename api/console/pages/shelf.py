"""Shelf: rank a shop's shelf from the latest plan of the stored snapshot (the API's
POST /v1/rank with `from_plan`: engine/shelf), and show the new order with each
product's move and its reason.

Ranking changes nothing stored, so the form is a GET: a brand viewer may rank its own
brand's shops; another brand's shop is not found.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Response
from starlette.concurrency import run_in_threadpool

from api.console.pages.plans import current_inputs, current_plan_id, table_of
from api.console.web import Visit, VisitDep, console_router, render
from engine.core.errors import InputError, Issue
from engine.core.settings import Settings
from engine.services.kept_plans import kept_plan
from engine.shelf.from_plan import ShopView, shelf_of_view
from engine.shelf.rank import Ranking, rank
from engine.store.errors import NotFound

router = console_router()

SLOTS = 20  # the default shelf, as `omnistock rank --from-plan`
MAX_SLOTS = 100  # a shelf longer than a page is not looked at by anyone


@dataclass(frozen=True)
class ShelfView:
    plan_id: str | None  # None: no plan of the stored snapshot yet
    shops: list[str]  # the shops the key may rank


def _view(visit: Visit) -> ShelfView:
    inputs = current_inputs(visit.store)
    if inputs is None:
        return ShelfView(None, [])
    shops = inputs.snapshot.brands["shops"]
    mine = sorted(s for s, b in shops.items() if visit.brand in (None, b))
    plan_id = current_plan_id(inputs)
    try:
        table_of(visit, plan_id)  # the plan laid out, kept per plan: made, or not found
    except NotFound:
        return ShelfView(None, mine)
    return ShelfView(plan_id, mine)


def _ranked(visit: Visit, view: ShelfView, shop: str, slots: int) -> Ranking:
    if shop not in view.shops:  # unknown, or another brand's: the same answer
        raise NotFound("shop", shop)
    if not 1 <= slots <= MAX_SLOTS:
        raise InputError([Issue("slots", f"must be 1 to {MAX_SLOTS}")], "form")
    assert view.plan_id is not None
    # The snapshot's index from the process's plan-inputs cache and the plan's rows as
    # kept parsed: no model of either is read (the first ranking of a plan was 1 s).
    inputs = current_inputs(visit.store)
    if inputs is None:
        raise NotFound("snapshot", visit.tenant)
    document = kept_plan(visit.store, view.plan_id).document
    allocations = (
        (a["sku"], a["shop"], a["quantity"], a.get("shared", 0)) for a in document["allocations"]
    )
    pools = ((p["sku"], p["pool"]) for p in document.get("skus", []))
    shelf = shelf_of_view(ShopView(inputs.snapshot.index, allocations, pools, shop), slots)
    settings: Settings = visit.request.app.state.settings
    return rank(shelf, None, settings.shelf_time_limit_s)


@router.get("/shelf")
async def shelf_page(visit: VisitDep, shop: str = "", slots: int = SLOTS) -> Response:
    """The form; with a shop asked for, its ranking (moves and reasons)."""
    visit.may("read", visit.brand)
    view = await run_in_threadpool(_view, visit)
    ranking = None
    if shop and view.plan_id is not None:
        ranking = await run_in_threadpool(_ranked, visit, view, shop, slots)
    return render(
        visit.request,
        "shelf.html.j2",
        view=view,
        shop=shop,
        slots=slots,
        max_slots=MAX_SLOTS,
        ranking=ranking,
    )
