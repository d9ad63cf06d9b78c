"""Reports: a brand's campaign or monthly report built (the figures now, the files by a
job), read back with its figures and downloaded as XLSX, PDF or HTML, sent to the
brand's recipients (a job: retries wait), and the recipients, schedules and delivery log
behind it. Operators build, send and set up; a brand viewer reads its brand's reports
and deliveries only - another brand's report is not found."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from api.deps import JobsDep, Reader, SettingsDep, StoreDep, TenantReader, Writer
from api.errors import JsonRoute
from api.observe import audit_target
from api.routes.catalog import CatalogDep
from api.schemas.errors import (
    DATABASE,
    INVALID,
    KEYED,
    NOT_FOUND,
    WITH_BODY,
    Answer,
    ChangedMeanwhile,
    JobEnded,
    conflicts,
    links,
    location,
    responses,
)
from api.schemas.jobs import JobOut
from api.schemas.reports import (
    BUILD_ID_PATTERN,
    DeliveryOut,
    RecipientOut,
    RecipientRequest,
    ReportBuildOut,
    ReportRequest,
    ReportStarted,
    ScheduleOut,
    ScheduleRequest,
)
from api.urls import job_json, report_url
from engine.access.roles import authorize
from engine.db.errors import NotFound
from engine.reports.builds import BuildRecord, BuildStatus, BuildStore
from engine.reports.delivery.log import DeliveryLog
from engine.reports.recipients import RecipientStore
from engine.reports.schedules import ScheduleStore
from engine.services import reports as service
from engine.services.catalog import Catalog
from engine.store.base import JsonObject

router = APIRouter(route_class=JsonRoute, tags=["reports"], prefix="/reports")
DB = (*KEYED, DATABASE)
BuildId = Annotated[str, Path(pattern=BUILD_ID_PATTERN, description="a report build's id")]
BrandQuery = Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[^\x00/]+$")]
STARTED = Answer(
    202,
    "the build, its files drawn by a job",
    (ReportStarted,),
    location("report"),
    links(
        "report/id",
        ("get-report", "build_id"),
        ("get-report-file", "build_id"),
        ("send-report", "build_id"),
    ),
)
SENDING = Answer(202, "the delivery, handed to the job queue", (JobOut,))
NOT_DONE = conflicts(JobEnded)
MEDIA = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "html": "text/html; charset=utf-8",
}


def _builds(catalog: Catalog) -> BuildStore:
    return BuildStore(catalog.store.engine)


def _view(record: BuildRecord, with_report: bool = True) -> JsonObject:
    base = report_url(record.id)
    urls = {"self": base, **{fmt: f"{base}/report.{fmt}" for fmt in MEDIA}}
    return {**record.to_json(with_report), "urls": urls}


def _readable(catalog: Catalog, tenant: str, build_id: str, brand: str | None) -> BuildRecord:
    """The build as a reader cut to `brand` may see it: another brand's is not found."""
    record = _builds(catalog).get(tenant, build_id)
    if brand is not None and record.brand != brand:
        raise NotFound("report", build_id)
    return record


def _not_done(record: BuildRecord) -> JSONResponse:
    message = f"report {record.id} is {record.status.value}: its files come when it is done"
    detail = {"job": record.id, "status": record.status.value, "message": message}
    return JSONResponse({"detail": detail}, status_code=409)


def _scope(reader: Any, brand: str | None) -> str | None:
    if brand is not None:
        authorize(reader, "read", reader.tenant, brand)
    return brand if brand is not None else reader.brand


# --- builds ---------------------------------------------------------------------------------


@router.post(
    "",
    operation_id="create-report",
    response_model=ReportStarted,
    status_code=202,
    responses=responses(STARTED, DB, NOT_FOUND, WITH_BODY),
)
def create_report(
    request: Request,
    body: ReportRequest,
    writer: Writer,
    store: StoreDep,
    catalog: CatalogDep,
    jobs: JobsDep,
    settings: SettingsDep,
) -> Any:
    """Build a brand's report of a window from the data as of the window's end: the
    figures are computed now (a window that is empty, in the future or longer than a
    year, or an unknown brand, is a 422 naming the field); a job draws the workbook,
    the PDF and the HTML page and keeps them with the report (follow it at Location)."""
    database = catalog.job_url
    built = service.report_of(
        store, catalog.store.engine, body.brand, body.start, body.end, body.kind
    )
    record, info = service.start_build(
        _builds(catalog), jobs, built, body.lang, writer.key_id, database, settings.report_font
    )
    audit_target(request, report_id=record.id)
    content = {"report": _view(record), "job": job_json(info)}
    return JSONResponse(content, status_code=202, headers={"Location": report_url(record.id)})


@router.get(
    "",
    operation_id="list-reports",
    response_model=list[ReportBuildOut],
    responses=responses(DB, INVALID),
)
def list_reports(
    reader: Reader,
    catalog: CatalogDep,
    brand: BrandQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[JsonObject]:
    """The tenant's report builds, newest first, without their figures (a brand viewer:
    its brand's)."""
    builds = _builds(catalog).list(reader.tenant, _scope(reader, brand), limit)
    return [_view(record, with_report=False) for record in builds]


# --- recipients, schedules, deliveries (before /{build_id}: fixed paths first) --------------


@router.get(
    "/recipients",
    operation_id="list-report-recipients",
    response_model=list[RecipientOut],
    responses=responses(DB, INVALID),
)
def list_recipients(
    reader: TenantReader, catalog: CatalogDep, brand: BrandQuery = None
) -> list[JsonObject]:
    """Who gets which brand's reports (robots' tokens cut)."""
    found = RecipientStore(catalog.store.engine).recipients(reader.tenant, brand)
    return [r.to_json() for r in found]


@router.post(
    "/recipients",
    operation_id="create-report-recipient",
    response_model=RecipientOut,
    status_code=201,
    responses=responses(DB, WITH_BODY, conflicts(ChangedMeanwhile)),
)
def create_recipient(
    request: Request, body: RecipientRequest, writer: Writer, catalog: CatalogDep
) -> JsonObject:
    """Send a brand's reports (of a kind, or all) to a mail address or a chat robot; an
    address that is not one is a 422 naming it; the same recipient twice a 409."""
    made = RecipientStore(catalog.store.engine).add(
        writer.tenant, body.brand, body.channel, body.target, body.kind, body.secret
    )
    audit_target(request, recipient_id=str(made.id))
    return made.to_json()


@router.delete(
    "/recipients/{recipient_id}",
    operation_id="delete-report-recipient",
    status_code=204,
    responses=responses(DB, NOT_FOUND, INVALID),
)
def delete_recipient(
    recipient_id: Annotated[int, Path(ge=1, le=2**62)], writer: Writer, catalog: CatalogDep
) -> Response:
    """Stop sending to a recipient."""
    RecipientStore(catalog.store.engine).remove(writer.tenant, recipient_id)
    return Response(status_code=204)


@router.get(
    "/schedules",
    operation_id="list-report-schedules",
    response_model=list[ScheduleOut],
    responses=responses(DB, INVALID),
)
def list_schedules(
    reader: TenantReader, catalog: CatalogDep, brand: BrandQuery = None
) -> list[JsonObject]:
    """The tenant's report schedules."""
    return [
        s.to_json() for s in ScheduleStore(catalog.store.engine).schedules(reader.tenant, brand)
    ]


@router.post(
    "/schedules",
    operation_id="create-report-schedule",
    response_model=ScheduleOut,
    status_code=201,
    responses=responses(DB, WITH_BODY),
)
def create_schedule(
    request: Request, body: ScheduleRequest, writer: Writer, catalog: CatalogDep
) -> JsonObject:
    """Schedule a brand's report: after a campaign window ends, monthly on a day, or
    once now. Each firing is built, drawn and delivered by the worker's tick, once."""
    made = ScheduleStore(catalog.store.engine).add(
        writer.tenant,
        body.brand,
        body.rule,
        kind=body.kind,
        start=body.start,
        end=body.end,
        day=body.day,
        lang=body.lang,
        label=body.label,
    )
    audit_target(request, schedule_id=str(made.id))
    return made.to_json()


@router.delete(
    "/schedules/{schedule_id}",
    operation_id="delete-report-schedule",
    status_code=204,
    responses=responses(DB, NOT_FOUND, INVALID),
)
def delete_schedule(
    schedule_id: Annotated[int, Path(ge=1, le=2**62)], writer: Writer, catalog: CatalogDep
) -> Response:
    """Forget a schedule; its firings and deliveries stay in the log."""
    ScheduleStore(catalog.store.engine).remove(writer.tenant, schedule_id)
    return Response(status_code=204)


@router.get(
    "/deliveries",
    operation_id="list-report-deliveries",
    response_model=list[DeliveryOut],
    responses=responses(DB, INVALID),
)
def list_deliveries(
    reader: Reader,
    catalog: CatalogDep,
    brand: BrandQuery = None,
    key: Annotated[str | None, Query(min_length=1, max_length=255)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[JsonObject]:
    """The delivery log, newest first: every attempt on every target, its outcome and
    reason (a brand viewer: its brand's)."""
    log = DeliveryLog(catalog.store.engine)
    return [r.to_json() for r in log.read(reader.tenant, _scope(reader, brand), key, limit)]


# --- one build --------------------------------------------------------------------------------


@router.get(
    "/{build_id}",
    operation_id="get-report",
    response_model=ReportBuildOut,
    responses=responses(DB, NOT_FOUND, INVALID),
)
def get_report(build_id: BuildId, reader: Reader, catalog: CatalogDep) -> JsonObject:
    """A build: its status, and once done the report - every section's figures, tables
    and definitions, as the files show them."""
    return _view(_readable(catalog, reader.tenant, build_id, reader.brand))


@router.get(
    "/{build_id}/report.{fmt}",
    operation_id="get-report-file",
    response_class=Response,
    responses={
        200: {
            "content": {
                media.split(";")[0]: {"schema": {"type": "string", "format": "binary"}}
                for media in MEDIA.values()
            }
        },
        **responses(DB, NOT_FOUND, INVALID, NOT_DONE),
    },
)
def get_report_file(
    build_id: BuildId,
    fmt: Literal["xlsx", "pdf", "html"],
    reader: Reader,
    catalog: CatalogDep,
) -> Response:
    """A done build's workbook, PDF or HTML page; 409 until it is done."""
    record = _readable(catalog, reader.tenant, build_id, reader.brand)
    data = _builds(catalog).file(reader.tenant, build_id, fmt)
    if record.status is not BuildStatus.DONE or data is None:
        return _not_done(record)
    name = f"{record.brand}-{record.kind}-{record.start}-{record.end}-{record.lang}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(data, media_type=MEDIA[fmt], headers=headers)


@router.post(
    "/{build_id}/send",
    operation_id="send-report",
    response_model=JobOut,
    status_code=202,
    responses=responses(SENDING, DB, NOT_FOUND, INVALID, NOT_DONE),
)
def send_report(
    request: Request, build_id: BuildId, writer: Writer, catalog: CatalogDep, jobs: JobsDep
) -> Any:
    """Deliver a done build to its brand's recipients of its kind: a job (retries wait).
    Each target gets the report of a window once, however often this is asked; every
    attempt is in the delivery log."""
    record = _readable(catalog, writer.tenant, build_id, None)
    if record.status is not BuildStatus.DONE:
        return _not_done(record)
    audit_target(request, report_id=build_id)
    link = str(request.url_for("get_report_file", build_id=build_id, fmt="pdf"))
    args = service.send_job_args(catalog.job_url, record, link)
    info = jobs.submit(writer.tenant, service.REPORT_SEND_JOB.name, args)
    return JSONResponse(job_json(info), status_code=202)
