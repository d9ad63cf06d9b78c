"""Plans: the latest plan per brand, a plan's SKUs x shops (searched, filtered, paged),
and one SKU's story - every number explained, the pool's derivation and the rules that
bound it (the API's explain route, engine/services/plans.py `explain`).

"The latest plan" is the plan of the stock as it is now: the plan made from the stored
snapshot, the latest ruleset and the mode in force (a plan's id is the hash of those
inputs), if one has been made; the console then offers to make it.
"""

from __future__ import annotations

import math

from fastapi import Response
from starlette.concurrency import run_in_threadpool

from api.console.plan_table import PAGE_ROWS, PlanTable, plan_table
from api.console.stock_check import SEVERITIES, checked
from api.console.web import Visit, VisitDep, console_router, render
from engine.services import plans
from engine.services.plans import PreparedInputs
from engine.store.base import Store
from engine.store.errors import NotFound

router = console_router()


def current_inputs(store: Store) -> PreparedInputs | None:
    """What a plan made now would be made from (parsed once per stored snapshot by the
    process's cache); None when the tenant has no snapshot yet."""
    try:
        return plans.prepared_inputs(store, None)
    except NotFound:
        return None


def current_plan_id(inputs: PreparedInputs) -> str:
    return "plan-" + inputs.digest[:16]


def _categories(store: Store) -> dict[str, str]:
    inputs = current_inputs(store)
    if inputs is None:
        return {}
    index = inputs.snapshot.index
    names = index.categories
    return {sku: names[c] for sku, c in zip(index.sku_ids, index.sku_category, strict=True)}


def table_of(visit: Visit, plan_id: str) -> PlanTable:
    """The plan laid out; NotFound (a 404 page) if the tenant has none by that id."""
    return plan_table(visit.store, plan_id, lambda: _categories(visit.store))


def brand_shown(visit: Visit, table: PlanTable, asked: str | None) -> str:
    """The brand a page shows: a brand viewer's own (another's is not found), else the
    one asked for, else the plan's first."""
    brand = asked or visit.brand or next(iter(table.brands), "")
    if brand not in table.brands or (visit.brand is not None and brand != visit.brand):
        raise NotFound(f"brand in plan {table.plan_id}", brand)
    visit.may("read", brand)
    return brand


@router.get("/plans")
async def plans_index(visit: VisitDep) -> Response:
    """The latest plan, one card per brand the key may read."""
    visit.may("read", visit.brand)
    inputs = await run_in_threadpool(current_inputs, visit.store)
    if inputs is None:
        return render(visit.request, "plans.html.j2", inputs=None, table=None, parts=[])
    try:
        table = await run_in_threadpool(table_of, visit, current_plan_id(inputs))
    except NotFound:
        table = None
    parts = []
    if table is not None:
        parts = [p for b, p in table.brands.items() if visit.brand in (None, b)]
    return render(visit.request, "plans.html.j2", inputs=inputs, table=table, parts=parts)


@router.get("/plans/{plan_id}")
async def plan_page(
    visit: VisitDep,
    plan_id: str,
    brand: str | None = None,
    q: str = "",
    shop: str = "",
    category: str = "",
    warning: str = "",
    page: int = 1,
) -> Response:
    """One brand's SKUs x shops of a plan, PAGE_ROWS SKUs a page; with `warning` (a
    severity), the SKUs the two-way check warns about at that severity."""
    table = await run_in_threadpool(table_of, visit, plan_id)
    shown = brand_shown(visit, table, brand)
    part = table.brands[shown]
    shop = shop if shop in part.shops else ""
    warned = None
    if warning in SEVERITIES:
        check = await run_in_threadpool(checked, visit.store, plan_id)
        warned = {f.sku for f in check.findings.found if f.severity == warning}
    else:
        warning = ""
    rows = table.rows(shown, q, shop, category, warned)
    pages = max(1, math.ceil(len(rows) / PAGE_ROWS))
    page = min(max(page, 1), pages)
    inputs = current_inputs(visit.store)
    return render(
        visit.request,
        "plan.html.j2",
        table=table,
        brand=shown,
        brands=[b for b in table.brands if visit.brand in (None, b)],
        part=part,
        rows=rows[(page - 1) * PAGE_ROWS : page * PAGE_ROWS],
        total=len(rows),
        page=page,
        pages=pages,
        filters={"q": q, "shop": shop, "category": category, "warning": warning},
        severities=SEVERITIES,
        categories=table.brand_categories(shown),
        current=inputs is not None and current_plan_id(inputs) == plan_id,
        publish=None if visit.session.read_only else visit.form(f"/plans/{plan_id}/publish"),
    )


@router.get("/plans/{plan_id}/skus/{sku}")
async def sku_page(visit: VisitDep, plan_id: str, sku: str) -> Response:
    """Why the plan gives each shop what it gives of one SKU (a brand viewer: its own
    brand's SKUs and shops only; another brand's SKU is not found)."""
    visit.may("read", visit.brand)
    story = await run_in_threadpool(plans.explain, visit.store, plan_id, sku, visit.brand)
    table = await run_in_threadpool(table_of, visit, plan_id)
    cells = table.cells.get(sku, {})
    binding = sorted({rule for cell in cells.values() for rule in cell.binding})
    ruleset = visit.store.get_ruleset(table.ruleset_version).body
    rules = {r.get("id"): r for r in ruleset.get("rules", []) if r.get("id") in binding}
    brand = next((b for b, p in table.brands.items() if sku in p.skus), "")
    return render(
        visit.request,
        "sku.html.j2",
        table=table,
        story=story,
        cells=cells,
        rules=[(rule_id, rules.get(rule_id)) for rule_id in binding],
        brand=brand,
        pool=table.pools.get(sku, 0),
    )
