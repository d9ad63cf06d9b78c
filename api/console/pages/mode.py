"""Mode: the tenant's peak (Double-11) switch with its window, who switched it and when,
and switching it with a confirmation step (engine/services/mode_switch.py, as the API's
PUT /v1/mode). The mode is the whole tenant's: a brand viewer's key cannot read it.

The review page carries the switch asked for in signed hidden fields
(api/console/csrf.py): what is confirmed is what was reviewed, or nothing.
"""

from __future__ import annotations

from typing import Any

from fastapi import Response
from starlette.concurrency import run_in_threadpool

from api.console.audit_trail import newest_done
from api.console.web import Visit, VisitDep, console_router, redirect, render
from api.observe import audit_target
from api.urls import API_PREFIX, CONSOLE_PREFIX
from engine.core.modes import MODES
from engine.services import mode_switch

router = console_router()

# The routes a switch is audited under: the API's, and this page's confirmation.
SWITCH_ROUTES = frozenset({API_PREFIX + "/mode", CONSOLE_PREFIX + "/mode/confirm"})


def _page(visit: Visit, done: bool) -> Response:
    mode = mode_switch.get_mode(visit.store)
    form = None if visit.session.read_only else visit.form("/mode")
    return render(
        visit.request,
        "mode.html.j2",
        mode=mode,
        last=newest_done(visit.store, SWITCH_ROUTES),
        form=form,
        modes=MODES,
        done=done,
    )


@router.get("/mode")
async def mode_page(visit: VisitDep, done: str = "") -> Response:
    visit.may("read")  # the whole tenant's setting
    return await run_in_threadpool(_page, visit, done == "switched")


@router.post("/mode")
async def review_switch(visit: VisitDep) -> Response:
    """The switch asked for, to confirm (nothing is switched yet)."""
    _, posted = await visit.accept("/mode")
    asked = {name: posted.get(name, "").strip() for name in ("mode", "start", "end")}
    return render(
        visit.request,
        "mode_confirm.html.j2",
        asked=asked,
        form=visit.form("/mode/confirm", asked),
    )


@router.post("/mode/confirm")
async def confirm_switch(visit: VisitDep) -> Response:
    """Switch as reviewed; an InputError (a 422 page) names a field that is not valid."""
    signed, _ = await visit.accept("/mode/confirm")
    body: dict[str, Any] = {
        "mode": signed.get("mode", ""),
        "start": signed.get("start") or None,
        "end": signed.get("end") or None,
    }
    await run_in_threadpool(mode_switch.put_mode, visit.store, body)
    audit_target(visit.request, mode=str(body["mode"]))
    return redirect("/mode", done="switched")
