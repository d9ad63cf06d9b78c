"""Warnings: the two-way stock check (engine/checks/two_way.py, as the API's POST
/v1/check) of the stored snapshot's listings against a plan and the stock, grouped by
severity, each with its suggested fix; filtered and paged.

On the demo (5,000 SKUs x 10 shops) the check reads and parses the snapshot and the
plan and finds some 12,000 warnings in about a second; the process keeps the last few
checks (per plan and stock version: a new snapshot is checked again), so paging and
filtering them is a slice.
"""

from __future__ import annotations

import math
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass

from fastapi import Response
from starlette.concurrency import run_in_threadpool

from api.console.pages.plans import table_of
from api.console.plan_table import PAGE_ROWS
from api.console.web import Visit, VisitDep, console_router, render
from engine.checks.findings import StockWarning
from engine.checks.two_way import check_stock
from engine.core.io import parse_plan
from engine.services.plans import stored_plan
from engine.services.snapshots import stored_snapshot
from engine.store.errors import NotFound

router = console_router()

SEVERITIES = ("high", "medium", "low")
KEEP = 4


@dataclass(frozen=True)
class Checked:
    stock_version: int
    warnings: list[StockWarning]


_CHECKED: OrderedDict[tuple[str, str, int], Checked] = OrderedDict()
_LOCK = threading.Lock()


def checked(visit: Visit, plan_id: str) -> Checked:
    """The two-way check of the stored snapshot against the plan (kept per process)."""
    store = visit.store
    version = store.stock_version()
    key = (store.tenant, plan_id, version)
    with _LOCK:
        found = _CHECKED.get(key)
        if found is not None:
            _CHECKED.move_to_end(key)
            return found
    document, _ = stored_plan(store, plan_id)
    version, snapshot = stored_snapshot(store)
    result = Checked(version, check_stock(snapshot, parse_plan(document, "stored plan")))
    with _LOCK:
        _CHECKED[(store.tenant, plan_id, version)] = result
        while len(_CHECKED) > KEEP:
            _CHECKED.popitem(last=False)
    return result


@router.get("/plans/{plan_id}/warnings")
async def warnings_page(
    visit: VisitDep,
    plan_id: str,
    severity: str = "",
    code: str = "",
    shop: str = "",
    q: str = "",
    page: int = 1,
) -> Response:
    """The check's warnings, by severity (a brand viewer: its brand's SKUs only)."""
    visit.may("read", visit.brand)
    table = await run_in_threadpool(table_of, visit, plan_id)
    result = await run_in_threadpool(checked, visit, plan_id)
    skus = None
    if visit.brand is not None:
        part = table.brands.get(visit.brand)
        if part is None:
            raise NotFound(f"brand in plan {plan_id}", visit.brand)
        skus = set(part.skus)
    mine = [w for w in result.warnings if skus is None or w.sku in skus]
    counts: Counter[str] = Counter(str(w.severity) for w in mine)
    codes = sorted({w.code for w in mine})
    shops = sorted({w.shop for w in mine if w.shop})
    needle = q.strip().lower()
    shown = [
        w
        for w in mine
        if (not severity or w.severity == severity)
        and (not code or w.code == code)
        and (not shop or w.shop == shop)
        and (not needle or needle in w.sku.lower())
    ]
    pages = max(1, math.ceil(len(shown) / PAGE_ROWS))
    page = min(max(page, 1), pages)
    rows = shown[(page - 1) * PAGE_ROWS : page * PAGE_ROWS]
    groups = [(s, [w for w in rows if w.severity == s]) for s in SEVERITIES]
    return render(
        visit.request,
        "warnings.html.j2",
        table=table,
        stock_version=result.stock_version,
        counts=[(s, counts.get(s, 0)) for s in SEVERITIES],
        groups=[g for g in groups if g[1]],
        codes=codes,
        shops=shops,
        severities=SEVERITIES,
        filters={"severity": severity, "code": code, "shop": shop, "q": q},
        page=page,
        pages=pages,
        total=len(shown),
    )
