"""Publishing a plan for orders (engine/services/publishing.py, as the API's POST
/v1/plans/{plan_id}/publish): refused when the stock changed since the plan was made
(its stock version is checked by the store as it writes), or in peak mode when the
stock check finds a high warning.

Nothing is published twice: the form is accepted once (api/console/csrf.py), and the
publish's idempotency key is the plan and its stock version, so publishing the same
plan on the same stock again - from another form, another browser - returns the first
receipt and changes nothing.
"""

from __future__ import annotations

from fastapi import Response
from starlette.concurrency import run_in_threadpool

from api.console.pages.plans import table_of
from api.console.web import VisitDep, console_router, render
from api.observe import audit_target
from engine.services import publishing

router = console_router()


def publish_key(plan_id: str, stock_version: int) -> str:
    return f"console-{plan_id}-v{stock_version}"


@router.post("/plans/{plan_id}/publish")
async def publish_plan(visit: VisitDep, plan_id: str) -> Response:
    await visit.accept(f"/plans/{plan_id}/publish")
    table = await run_in_threadpool(table_of, visit, plan_id)
    key = publish_key(plan_id, table.stock_version)
    audit_target(visit.request, idempotency_key=key)
    receipt = await run_in_threadpool(publishing.publish, visit.store, plan_id, key, {"note": None})
    return render(visit.request, "published.html.j2", table=table, receipt=receipt)
