"""Compare two plans: per brand, the (SKU, shop) cells whose quantities differ, with the
units each gains or loses; by default against the plan published last (the newest
publish in the audit log that was done), so "what would publishing this change" is one
click from a plan.
"""

from __future__ import annotations

import math

from fastapi import Response
from starlette.concurrency import run_in_threadpool

from api.console.audit_trail import newest_done
from api.console.pages.plans import brand_shown, table_of
from api.console.plan_table import PAGE_ROWS, PlanTable
from api.console.web import VisitDep, console_router, render
from api.urls import API_PREFIX, CONSOLE_PREFIX
from engine.store.errors import NotFound

router = console_router()

PUBLISH_ROUTES = frozenset(
    {API_PREFIX + "/plans/{plan_id}/publish", CONSOLE_PREFIX + "/plans/{plan_id}/publish"}
)


def differences(this: PlanTable, other: PlanTable, brand: str) -> list[tuple[str, str, int, int]]:
    """(SKU, shop, quantity in `other`, quantity in `this`) of the brand's cells that
    differ, a cell missing from a plan counting 0."""
    shops = this.brands[brand].shops
    theirs_skus = other.brands[brand].skus if brand in other.brands else []
    skus = sorted(set(this.brands[brand].skus) | set(theirs_skus))
    found = []
    for sku in skus:
        mine = this.cells.get(sku, {})
        theirs = other.cells.get(sku, {})
        for shop in shops:
            now = mine[shop].quantity if shop in mine else 0
            before = theirs[shop].quantity if shop in theirs else 0
            if now != before:
                found.append((sku, shop, before, now))
    return found


@router.get("/plans/{plan_id}/compare")
async def compare_page(
    visit: VisitDep, plan_id: str, brand: str | None = None, other: str = "", page: int = 1
) -> Response:
    """The cells of one brand that `other` (by default the plan published last) gives
    differently from this plan."""
    this = await run_in_threadpool(table_of, visit, plan_id)
    shown = brand_shown(visit, this, brand)
    published = None
    if not other:
        published = await run_in_threadpool(newest_done, visit.store, PUBLISH_ROUTES, "plan_id")
        if published is None:
            raise NotFound("published plan to compare with", "(none in the audit log)")
        other = published["target"]["plan_id"]
    that = await run_in_threadpool(table_of, visit, other)
    rows = differences(this, that, shown)
    pages = max(1, math.ceil(len(rows) / PAGE_ROWS))
    page = min(max(page, 1), pages)
    return render(
        visit.request,
        "compare.html.j2",
        this=this,
        that=that,
        brand=shown,
        published=published,
        rows=rows[(page - 1) * PAGE_ROWS : page * PAGE_ROWS],
        total=len(rows),
        moved=sum(abs(now - before) for _, _, before, now in rows),
        page=page,
        pages=pages,
    )
