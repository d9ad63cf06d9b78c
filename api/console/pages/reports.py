"""Reports: the brand's report builds (engine/reports/builds.py, on the catalog's
database as the API's /v1/reports reads them), building one from a form (figures now,
files by a job: engine/services/reports.py report_of + start_build), a build's status
and figures, its XLSX, PDF and HTML served from a console route, and sending it to the
brand's recipients after a confirmation step.

A brand viewer sees its brand's builds only (another brand's is not found, as over the
API) and is shown no form; a form it posts by hand is refused.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Response
from starlette.concurrency import run_in_threadpool

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
from api.routes.reports import MEDIA
from engine.core.errors import InputError, Issue
from engine.core.settings import Settings
from engine.db.errors import NotFound
from engine.reports.builds import BuildRecord, BuildStatus, BuildStore
from engine.reports.model import Report
from engine.reports.recipients import RecipientStore
from engine.reports.render.values import shown
from engine.services import reports as service
from engine.services.catalog import Catalog

router = console_router()

SettingsDep = Annotated[Settings, Depends(get_settings)]
SHOWN_BUILDS = 50  # the newest; older builds stay readable over the API
ENDED = (BuildStatus.DONE, BuildStatus.FAILED)


def _readable(visit: Visit, catalog: Catalog, build_id: str) -> BuildRecord:
    """The build as the key may see it: another brand's is not found."""
    record = BuildStore(catalog.store.engine).get(visit.tenant, build_id)
    if visit.brand is not None and record.brand != visit.brand:
        raise NotFound("report", build_id)
    return record


def _day(posted: dict[str, str], name: str) -> date:
    try:
        return date.fromisoformat(posted.get(name, "").strip())
    except ValueError:
        raise InputError([Issue(name, "a date as YYYY-MM-DD")], "form") from None


@router.get("/reports")
async def reports_page(visit: VisitDep, catalog: CatalogDep) -> Response:
    """The builds, newest first (a brand viewer: its brand's), and the form."""
    visit.may("read", visit.brand)
    builds = BuildStore(catalog.store.engine)
    records = await run_in_threadpool(builds.list, visit.tenant, visit.brand, SHOWN_BUILDS)
    form = None if visit.session.read_only else visit.form("/reports")
    return render(visit.request, "reports.html.j2", records=records, form=form)


@router.post("/reports")
async def build_report(visit: VisitDep, catalog: CatalogDep, settings: SettingsDep) -> Response:
    """The figures now (a bad window or brand is a page naming the field), the files by
    a job; the build's page follows it."""
    _, posted = await visit.accept("/reports")
    brand = posted.get("brand", "").strip()
    start, end = _day(posted, "from"), _day(posted, "to")
    kind = posted.get("kind", "campaign")
    lang = posted.get("lang", "zh")
    if kind not in service.KINDS:
        raise InputError([Issue("kind", f"one of {', '.join(service.KINDS)}")], "form")
    if lang not in ("zh", "en"):
        raise InputError([Issue("lang", "zh or en")], "form")
    database = catalog.job_url

    def build() -> BuildRecord:
        report = service.report_of(visit.store, catalog.store.engine, brand, start, end, kind)
        record, _ = service.start_build(
            BuildStore(catalog.store.engine),
            visit.jobs,
            report,
            lang,
            visit.session.key_id,
            database,
            settings.report_font,
        )
        return record

    record = await run_in_threadpool(build)
    audit_target(visit.request, report_id=record.id)
    return redirect(f"/reports/{record.id}")


@router.get("/reports/{build_id}")
async def report_page(visit: VisitDep, catalog: CatalogDep, build_id: str) -> Response:
    """A build's status; once done its figures, downloads and the send button."""
    record = await run_in_threadpool(_readable, visit, catalog, build_id)
    report = Report.from_json(record.report) if record.report is not None else None
    sendable = record.status is BuildStatus.DONE and not visit.session.read_only
    return render(
        visit.request,
        "report.html.j2",
        record=record,
        report=report,
        ended=record.status in ENDED,
        formats=tuple(MEDIA),
        shown=shown,
        send=visit.form(f"/reports/{build_id}/send") if sendable else None,
        sent=visit.request.query_params.get("sent") == "1",
    )


@router.get("/reports/{build_id}/progress")
async def report_progress(visit: VisitDep, catalog: CatalogDep, build_id: str) -> Response:
    """The build's status for the page's script to poll."""
    record = await run_in_threadpool(_readable, visit, catalog, build_id)
    return ended_progress(record.status.value, record.status in ENDED, f"/reports/{build_id}")


@router.get("/reports/{build_id}/report.{fmt}")
async def report_file(
    visit: VisitDep, catalog: CatalogDep, build_id: str, fmt: Literal["xlsx", "pdf", "html"]
) -> Response:
    """A done build's file, as stored (a 409 page until it is done)."""
    record = await run_in_threadpool(_readable, visit, catalog, build_id)
    builds = BuildStore(catalog.store.engine)
    data = await run_in_threadpool(builds.file, visit.tenant, build_id, fmt)
    if record.status is not BuildStatus.DONE or data is None:
        raise HTTPException(409, f"report {build_id} is {record.status.value}: not done")
    name = f"{record.brand}-{record.kind}-{record.start}-{record.end}-{record.lang}.{fmt}"
    headers = {**HEADERS, "Content-Disposition": f'attachment; filename="{name}"'}
    return Response(data, media_type=MEDIA[fmt], headers=headers)


@router.post("/reports/{build_id}/send")
async def review_send(visit: VisitDep, catalog: CatalogDep, build_id: str) -> Response:
    """Who the report would go to, to confirm (nothing is sent yet)."""
    await visit.accept(f"/reports/{build_id}/send")
    record = await run_in_threadpool(_readable, visit, catalog, build_id)
    recipients = RecipientStore(catalog.store.engine)
    targets = await run_in_threadpool(recipients.targets, visit.tenant, record.brand, record.kind)
    return render(
        visit.request,
        "report_send.html.j2",
        record=record,
        targets=[t.shown for t in targets],
        form=visit.form(f"/reports/{build_id}/send/confirm") if targets else None,
    )


@router.post("/reports/{build_id}/send/confirm")
async def confirm_send(visit: VisitDep, catalog: CatalogDep, build_id: str) -> Response:
    """Hand the delivery to the job queue (each target gets a window's report once,
    however often this is confirmed)."""
    await visit.accept(f"/reports/{build_id}/send/confirm")
    record = await run_in_threadpool(_readable, visit, catalog, build_id)
    if record.status is not BuildStatus.DONE:
        raise HTTPException(409, f"report {build_id} is {record.status.value}: not done")
    link = str(visit.request.url_for("get_report_file", build_id=build_id, fmt="pdf"))
    args = service.send_job_args(catalog.job_url, record, link)
    info = visit.jobs.submit(visit.tenant, service.REPORT_SEND_JOB.name, args)
    audit_target(visit.request, report_id=build_id, job_id=info.id)
    return redirect(f"/reports/{build_id}", sent="1")
