"""Warnings: the two-way stock check (engine/checks/two_way.py, as the API's POST
/v1/check) of the stored snapshot's listings against a plan and the stock, grouped by
severity, each with its suggested fix; filtered and paged.

The check is run once per plan and stock version in a process
(api/console/stock_check.py); paging and filtering it is a slice, and only the
warnings on the page are worded.
"""

from __future__ import annotations

import math
from collections import Counter

from fastapi import Response
from starlette.concurrency import run_in_threadpool

from api.console.pages.plans import table_of
from api.console.plan_table import PAGE_ROWS
from api.console.stock_check import SEVERITIES, checked
from api.console.web import VisitDep, console_router, render
from engine.store.errors import NotFound

router = console_router()


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
    result = await run_in_threadpool(checked, visit.store, plan_id)
    skus = None
    if visit.brand is not None:
        part = table.brands.get(visit.brand)
        if part is None:
            raise NotFound(f"brand in plan {plan_id}", visit.brand)
        skus = set(part.skus)
    mine = [f for f in result.findings.found if skus is None or f.sku in skus]
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
    # Only the page's findings are worded (a message and a fix each).
    rows = [result.findings.worded(f) for f in shown[(page - 1) * PAGE_ROWS : page * PAGE_ROWS]]
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
