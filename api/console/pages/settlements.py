"""Settlements: the tenant's settlement runs (engine/services/settlements.py on the
catalog's database, as the API's /v1/settlements reads them), a run's summary and bill,
its exceptions - the records held out of the bill - each beside what it was matched
against, resolved by hand after a confirmation step, and a month settled from an upload
form (the API's POST /v1/settlements: checked now, settled by a job).

A brand viewer reads its brand's runs only (another brand's run is not found, as over
the API) and is shown no form; a form it posts by hand is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import Depends, HTTPException, Path, Query, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.console.plan_table import PAGE_ROWS
from api.console.web import (
    HEADERS,
    Visit,
    VisitDep,
    console_router,
    ended_progress,
    redirect,
    render,
)
from api.deps import get_settings
from api.observe import audit_target
from api.routes.catalog import CatalogDep
from api.schemas.settlements import PERIOD_PATTERN, RUN_ID_PATTERN, ResolutionRequest
from engine.core.errors import InputError, Issue
from engine.core.settings import Settings
from engine.db.errors import NotFound
from engine.services import settlement_exceptions as exceptions
from engine.services import settlements as service
from engine.services.catalog import Catalog
from engine.services.settlement_exceptions import HELD, SIDES
from engine.settlement.output import money
from engine.settlement.records import Outcome
from engine.settlement.runstore import ROLES, RunRecord, RunStatus, SettlementStore

router = console_router()

SettingsDep = Annotated[Settings, Depends(get_settings)]
RunId = Annotated[str, Path(pattern=RUN_ID_PATTERN)]
PageNo = Annotated[int, Query(ge=1, le=10**6)]
# Every outcome, in the order the engine lists them (records.Outcome).
OUTCOMES = tuple(one.value for one in Outcome)
FILE_ROLES = ROLES[1:]  # the upload form's file fields (the contract is one file)
ENDED = (RunStatus.DONE, RunStatus.FAILED)


def _store(catalog: Catalog) -> SettlementStore:
    # The catalog's engine, as the API's routes use it: never disposed here.
    return SettlementStore(catalog.store.engine)


def _form_issue(field_name: str, message: str) -> InputError:
    return InputError([Issue(field_name, message)], "form")


# --- the runs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRow:
    run: RunRecord
    held: list[tuple[str, int]]  # the held outcomes it has, with their counts
    gmv: str | None
    fee: str | None
    held_count: int | None
    held_amount: str | None


def _run_row(run: RunRecord) -> RunRow:
    if run.summary is None:
        return RunRow(run, [], None, None, None, None)
    counts = run.summary["outcomes"]
    bill = run.summary["bill"]
    held_fen = sum(int(Decimal(line["held_amount"]) * 100) for line in bill["lines"])
    return RunRow(
        run,
        [(name, counts[name]) for name in HELD if counts.get(name)],
        bill["gmv"],
        bill["fee"],
        bill["held"],
        money(held_fen),
    )


def _runs(
    store: SettlementStore, tenant: str, brand: str | None, period: str | None, page: int
) -> tuple[list[RunRow], bool]:
    """A page of runs, newest first, and whether there are more. The store pages by
    limit only: one row past the page says whether another page follows."""
    start = (page - 1) * PAGE_ROWS
    runs = store.runs(tenant, brand=brand, period=period, limit=start + PAGE_ROWS + 1)
    shown = runs[start : start + PAGE_ROWS]
    # A run's list entry leaves its summary in the database; the done ones on the page
    # are read each with theirs (50 short reads, not the large columns).
    rows = [
        _run_row(store.run(tenant, run.id) if run.status is RunStatus.DONE else run)
        for run in shown
    ]
    return rows, len(runs) > start + PAGE_ROWS


@router.get("/settlements")
async def runs_page(
    visit: VisitDep,
    catalog: CatalogDep,
    brand: Annotated[str, Query(max_length=64)] = "",
    period: Annotated[str, Query(max_length=7)] = "",
    page: PageNo = 1,
) -> Response:
    """The runs, newest first (a brand viewer: its brand's), a page at a time."""
    visit.may("read", visit.brand)
    brand, period = brand.strip(), period.strip()
    if brand:
        visit.may("read", brand)  # a brand viewer asking for another brand: refused
    if period and not re.fullmatch(PERIOD_PATTERN, period):
        raise InputError([Issue("period", f"{period!r}: a month as YYYY-MM")], "query")
    rows, more = await run_in_threadpool(
        _runs, _store(catalog), visit.tenant, brand or visit.brand, period or None, page
    )
    return render(
        visit.request,
        "settlements.html.j2",
        rows=rows,
        page=page,
        more=more,
        filters={"brand": brand, "period": period},
        writer=not visit.session.read_only,
    )


# --- a month uploaded ----------------------------------------------------------------------


@router.get("/settlements/new")
async def upload_page(visit: VisitDep) -> Response:
    """The upload form (operators only)."""
    visit.may("write")
    return render(
        visit.request,
        "settlement_new.html.j2",
        form=visit.form("/settlements"),
        roles=FILE_ROLES,
        period_pattern=PERIOD_PATTERN,
    )


def _uploads(form: Any, limit: int) -> list[service.Upload]:
    """Every file of the form read whole; a missing or oversized file named by field."""
    issues, uploads = [], []
    for role in ROLES:
        given = [one for one in form.getlist(role) if isinstance(one, UploadFile)]
        given = [one for one in given if one.filename]  # an empty file input sends no name
        if not given:
            issues.append(Issue(role, "choose at least one file"))
        for n, one in enumerate(given):
            if one.size is not None and one.size > limit:
                message = f"{one.filename} is {one.size} bytes; a file may be at most {limit}"
                issues.append(Issue(f"{role}[{n}]", message))
                continue
            uploads.append(service.Upload(role, one.filename or "", one.file.read()))
    if issues:
        raise InputError(issues, "form")
    return uploads


@router.post("/settlements")
async def upload(visit: VisitDep, catalog: CatalogDep, settings: SettingsDep) -> Response:
    """Check the files now (a bad one is a page naming its file and line), then hand the
    run to the job queue; the run's page follows it. The same files again, once their run
    is done, are that run."""
    _, posted = await visit.accept("/settlements")
    period = posted.get("period", "").strip()
    if not re.fullmatch(PERIOD_PATTERN, period):
        raise _form_issue("period", f"{period!r}: a month as YYYY-MM")
    form = await visit.request.form()  # the files (accept read the form; it is kept)
    # Read off the event loop: a month's files may be hundreds of MB on disk.
    uploads = await run_in_threadpool(_uploads, form, settings.settlement_max_upload_bytes)
    store = _store(catalog)
    made = await run_in_threadpool(
        service.create_run, store, visit.tenant, period, uploads, visit.session.key_id
    )
    run_id = made.run.id
    audit_target(visit.request, settlement_id=run_id)
    if made.reused:
        return redirect(f"/settlements/{run_id}", reused="1")
    args = service.job_args(catalog.job_url, run_id)
    await run_in_threadpool(visit.jobs.submit, visit.tenant, service.SETTLEMENT_JOB.name, args)
    return redirect(f"/settlements/{run_id}")


# --- a run ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunView:
    run: RunRecord
    inputs: list[Any]
    bill: dict[str, Any] | None = None
    exceptions: exceptions.Exceptions | None = None


def _run_view(
    visit: Visit, catalog: Catalog, run_id: str, outcome: str, resolved: str, page: int
) -> RunView:
    store = _store(catalog)
    run = service.readable_run(store, visit.tenant, run_id, visit.brand)
    inputs = store.inputs(visit.tenant, run_id)
    if run.status is not RunStatus.DONE:
        return RunView(run, inputs)
    bill = service.bill(store, visit.tenant, run_id, visit.brand)
    found = exceptions.held_page(
        store, visit.tenant, run_id, visit.brand, outcome, resolved, page, PAGE_ROWS
    )
    return RunView(run, inputs, bill, found)


def _filters(outcome: str, resolved: str) -> None:
    if outcome and outcome not in HELD:
        message = f"{outcome!r}: one of {', '.join(HELD)}"
        raise InputError([Issue("outcome", message)], "query")
    if resolved not in ("", "yes", "no"):
        raise InputError([Issue("resolved", f"{resolved!r}: yes or no")], "query")


@router.get("/settlements/{run_id}")
async def run_page(
    visit: VisitDep,
    catalog: CatalogDep,
    run_id: RunId,
    outcome: Annotated[str, Query(max_length=40)] = "",
    resolved: Annotated[str, Query(max_length=3)] = "",
    page: PageNo = 1,
    saved: Annotated[int | None, Query(ge=1)] = None,
    reused: str = "",
) -> Response:
    """A run's status; once done its summary, bill, files and exceptions (filtered by
    outcome and by whether they were resolved by hand, 50 a page)."""
    visit.may("read", visit.brand)
    _filters(outcome, resolved)
    view = await run_in_threadpool(_run_view, visit, catalog, run_id, outcome, resolved, page)
    notice = None
    if saved is not None and view.exceptions is not None:
        trail = await run_in_threadpool(
            service.resolutions, _store(catalog), visit.tenant, run_id, visit.brand
        )
        notice = next((one for one in trail if one["id"] == saved), None)
    return render(
        visit.request,
        "settlement.html.j2",
        view=view,
        run=view.run,
        ended=view.run.status in ENDED,
        outcomes=OUTCOMES,
        held=HELD,
        sides=SIDES,
        filters={"outcome": outcome, "resolved": resolved},
        writer=not visit.session.read_only,
        saved=notice,
        reused=reused == "1",
    )


@router.get("/settlements/{run_id}/progress")
async def run_progress(visit: VisitDep, catalog: CatalogDep, run_id: RunId) -> Response:
    """The run's status for the page's script to poll."""
    visit.may("read", visit.brand)
    run = await run_in_threadpool(
        service.readable_run, _store(catalog), visit.tenant, run_id, visit.brand, False
    )
    return ended_progress(run.status.value, run.status in ENDED, f"/settlements/{run_id}")


def _attachment(data: bytes, media: str, name: str) -> Response:
    # RFC 6266's filename* carries a name in any script (a bill's file may be named in
    # Chinese); header values themselves are Latin-1.
    disposition = f"attachment; filename*=UTF-8''{quote(name, safe='')}"
    return Response(data, media_type=media, headers={**HEADERS, "Content-Disposition": disposition})


@router.get("/settlements/{run_id}/files/{role}/{position}")
async def run_file(
    visit: VisitDep,
    catalog: CatalogDep,
    run_id: RunId,
    role: Literal["contract", "orders", "payments", "warehouse"],
    position: Annotated[int, Path(ge=0, le=10_000)],
) -> Response:
    """A file the run was given, byte for byte as uploaded."""
    visit.may("read", visit.brand)

    def read() -> tuple[str, bytes]:
        store = _store(catalog)
        service.readable_run(store, visit.tenant, run_id, visit.brand, False)
        for one, data in store.input_files(visit.tenant, run_id):
            if (one.role, one.position) == (role, position):
                return one.name, data
        raise NotFound(f"file of settlement run {run_id}", f"{role}[{position}]")

    name, data = await run_in_threadpool(read)
    return _attachment(data, "application/octet-stream", name)


@router.get("/settlements/{run_id}/bill.xlsx")
async def run_bill(visit: VisitDep, catalog: CatalogDep, run_id: RunId) -> Response:
    """A done run's bill as the workbook the API serves (a 409 page until done)."""
    visit.may("read", visit.brand)

    def read() -> tuple[RunRecord, bytes]:
        store = _store(catalog)
        run = service.readable_run(store, visit.tenant, run_id, visit.brand, False)
        try:
            return run, service.bill_xlsx(store, visit.tenant, run_id, visit.brand)
        except service.RunNotDone as error:
            raise HTTPException(409, str(error)) from None

    run, data = await run_in_threadpool(read)
    media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return _attachment(data, media, f"bill-{run.brand}-{run.period}.xlsx")


# --- resolving by hand ---------------------------------------------------------------------


def _held(visit: Visit, catalog: Catalog, run_id: str, record: str) -> exceptions.Held:
    try:
        return exceptions.held_record(_store(catalog), visit.tenant, run_id, visit.brand, record)
    except service.RunNotDone as error:
        raise HTTPException(409, str(error)) from None


def _resolution_form(posted: dict[str, str]) -> ResolutionRequest:
    """The record and note, held to the API's own rules for them (ResolutionRequest)."""
    try:
        return ResolutionRequest(record=posted.get("record", ""), note=posted.get("note", ""))
    except ValidationError as error:
        issues = [Issue(".".join(map(str, e["loc"])), e["msg"]) for e in error.errors()]
        raise InputError(issues, "form") from None


# The run page's filters a resolution was started from, carried (signed) through the
# review and the confirmation so that the operator lands back on the same rows.
BACK = ("outcome", "resolved", "page")


def _back(given: dict[str, str]) -> dict[str, str]:
    back = {name: given.get(name, "") for name in BACK}
    _filters(back["outcome"], back["resolved"])
    if back["page"] and not back["page"].isdigit():
        raise InputError([Issue("page", "a page number")], "query")
    return back


@router.get("/settlements/{run_id}/resolve")
async def resolve_page(
    visit: VisitDep,
    catalog: CatalogDep,
    run_id: RunId,
    record: Annotated[str, Query(min_length=1, max_length=600)],
    note: Annotated[str, Query(max_length=4000)] = "",
    outcome: Annotated[str, Query(max_length=40)] = "",
    resolved: Annotated[str, Query(max_length=3)] = "",
    page: PageNo = 1,
) -> Response:
    """An exception with what it was matched against, its resolutions so far, and the
    form to resolve it (operators only)."""
    visit.may("write")
    back = _back({"outcome": outcome, "resolved": resolved, "page": str(page)})
    held = await run_in_threadpool(_held, visit, catalog, run_id, record)
    return render(
        visit.request,
        "settlement_resolve.html.j2",
        held=held,
        sides=SIDES,
        note=note,
        back=back,
        form=visit.form(f"/settlements/{run_id}/resolve", {"record": record, **back}),
        confirm=None,
    )


@router.post("/settlements/{run_id}/resolve")
async def review_resolution(visit: VisitDep, catalog: CatalogDep, run_id: RunId) -> Response:
    """The resolution as it would be recorded, to confirm (nothing is recorded yet)."""
    signed, posted = await visit.accept(f"/settlements/{run_id}/resolve")
    back = _back(signed)
    # A note of blanks says nothing: refused as an empty one.
    note = posted.get("note", "").strip()
    asked = _resolution_form({"record": signed.get("record", ""), "note": note})
    held = await run_in_threadpool(_held, visit, catalog, run_id, asked.record)
    fields = {"record": asked.record, "note": asked.note, **back}
    return render(
        visit.request,
        "settlement_resolve.html.j2",
        held=held,
        sides=SIDES,
        note=asked.note,
        back=back,
        form=None,
        confirm=visit.form(f"/settlements/{run_id}/resolve/confirm", fields),
    )


@router.post("/settlements/{run_id}/resolve/confirm")
async def confirm_resolution(visit: VisitDep, catalog: CatalogDep, run_id: RunId) -> Response:
    """Record it, once (the confirmation form is accepted once): appended to the run's
    trail with the key and the time, as the API's POST .../resolutions does."""
    signed, _ = await visit.accept(f"/settlements/{run_id}/resolve/confirm")
    asked = _resolution_form(signed)
    back = _back(signed)

    def record() -> int:
        store = _store(catalog)
        service.readable_run(store, visit.tenant, run_id, visit.brand, False)
        try:
            made = service.resolve(
                store, visit.tenant, run_id, asked.record, asked.note, visit.session.key_id
            )
        except service.RunNotDone as error:
            raise HTTPException(409, str(error)) from None
        return made.id

    made = await run_in_threadpool(record)
    audit_target(visit.request, settlement_id=run_id)
    return redirect(f"/settlements/{run_id}", saved=made, **back)
