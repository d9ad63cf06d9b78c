"""Settlement runs: a brand's month uploaded (the contract and the files of `omnistock
settle`) and settled by the job queue, stored with everything it produced; read back -
the run, the outcome of every record filtered and paged, the bill as JSON and as a
workbook - and exceptions resolved by hand, each resolution kept. Operators upload and
resolve; a brand viewer reads its brand's runs, and another brand's run is not found."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Literal

from fastapi import (
    APIRouter,
    File,
    Form,
    HTTPException,
    Path,
    Query,
    Request,
    Response,
    UploadFile,
)
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.deps import JobsDep, Reader, SettingsDep, Writer
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
    conflicts,
    location,
    responses,
)
from api.schemas.settlements import (
    NO_NUL,
    PERIOD_PATTERN,
    RUN_ID_PATTERN,
    STARTED_LINKS,
    BillOut,
    OutcomePage,
    ResolutionOut,
    ResolutionRequest,
    SettlementNotDone,
    SettlementOut,
    SettlementRecordOut,
    SettlementStarted,
    UploadTooLarge,
)
from api.urls import job_json, settlement_url
from engine.access.roles import authorize
from engine.core.errors import InputError
from engine.services import settlements as service
from engine.services.catalog import Catalog
from engine.settlement.records import Outcome
from engine.settlement.runstore import SettlementStore
from engine.store.base import JsonObject


class FormRoute(JsonRoute):
    """The API's route, but a multipart body that cannot be read (a broken boundary, a
    form field above Starlette's size for one) is a 422 like any unreadable body, not
    FastAPI's bare 400."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await handle(request)
            except StarletteHTTPException as error:  # what reading a form raises
                if error.status_code != 400:
                    raise
                message = f"not readable as multipart/form-data: {error.detail}"
                raise HTTPException(422, detail=[{"path": "body", "message": message}]) from None

        return handler


router = APIRouter(route_class=FormRoute, tags=["settlements"], prefix="/settlements")
DB = (*KEYED, DATABASE)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RunId = Annotated[str, Path(pattern=RUN_ID_PATTERN, description="a run's id")]
Period = Annotated[str | None, Query(pattern=PERIOD_PATTERN)]
NOT_DONE = conflicts(SettlementNotDone)
STARTED = Answer(
    202, "the run, handed to the job queue", (SettlementStarted,), location("run"), STARTED_LINKS
)
REUSED = Answer(200, "the done run of the same inputs (reused)", (SettlementStarted,))
TOO_LARGE = Answer(413, "a file is larger than the server takes", (UploadTooLarge,))
# The form, as the OpenAPI page shows it (any upload of the demo month's files fits).
FORM_EXAMPLE = {
    "period": "2026-11",
    "contract": "brand: b1\nmethod: {kind: percent, rate: '0.05'}\n",
    "orders": ["orders.csv"],
    "payments": ["alipay-trade.zip", "alipay-account.csv"],
    "warehouse": ["warehouse.csv"],
}


def _urls(run_id: str) -> dict[str, str]:
    base = settlement_url(run_id)
    return {
        "self": base,
        "outcomes": f"{base}/outcomes",
        "bill": f"{base}/bill",
        "bill_xlsx": f"{base}/bill.xlsx",
        "resolutions": f"{base}/resolutions",
    }


def _store(catalog: Catalog) -> SettlementStore:
    # The runs live on the catalog's database, as the listing jobs do; the engine is the
    # catalog's, never disposed here.
    return SettlementStore(catalog.store.engine)


def _view(store: SettlementStore, tenant: str, run_id: str, brand: str | None) -> JsonObject:
    run = service.readable_run(store, tenant, run_id, brand)
    inputs = [one.to_json() for one in store.inputs(tenant, run_id)]
    return {**run.to_json(), "inputs": inputs, "urls": _urls(run_id)}


def _not_done(error: service.RunNotDone) -> JSONResponse:
    detail = {"settlement": error.run_id, "status": error.status, "message": str(error)}
    return JSONResponse({"detail": detail}, status_code=409)


def _named_as(error: InputError, place: str) -> InputError:
    """The service's issues about the request's own fields, named where they were sent."""
    return InputError(error.issues, place) if error.source == service.REQUEST else error


# --- a run asked for ---------------------------------------------------------------------


def _uploads(
    limit: int, contract: UploadFile, files: dict[str, list[UploadFile]]
) -> list[service.Upload] | JSONResponse:
    """Every file read whole, or a 413 naming the first above the per-file limit."""
    fields = [("contract", "contract", contract)]
    fields += [
        (f"{role}[{n}]", role, one) for role, given in files.items() for n, one in enumerate(given)
    ]
    uploads = []
    for field, role, one in fields:
        name = one.filename or ""
        if one.size is not None and one.size > limit:
            message = f"{name} is {one.size} bytes; a file may be at most {limit}"
            detail = {"field": field, "file": name, "limit_bytes": limit, "message": message}
            return JSONResponse({"detail": detail}, status_code=413)
        uploads.append(service.Upload(role, name, one.file.read()))
    return uploads


@router.post(
    "",
    operation_id="create-settlement",
    response_model=SettlementStarted,
    responses=responses(REUSED, STARTED, DB, TOO_LARGE, WITH_BODY),
    openapi_extra={"requestBody": {"content": {"multipart/form-data": {"example": FORM_EXAMPLE}}}},
)
def create_settlement(
    request: Request,
    writer: Writer,
    catalog: CatalogDep,
    jobs: JobsDep,
    settings: SettingsDep,
    period: Annotated[str, Form(pattern=PERIOD_PATTERN, description="the month, YYYY-MM")],
    contract: Annotated[UploadFile, File(description="the brand's contract (YAML or JSON)")],
    orders: Annotated[list[UploadFile], File(description="platform order exports")],
    payments: Annotated[list[UploadFile], File(description="payment bills (Alipay, WeChat)")],
    warehouse: Annotated[list[UploadFile], File(description="warehouse in/out records")],
) -> Any:
    """Settle a brand's month: its contract (whose brand the run is of) and its files,
    each of `orders`, `payments`, `warehouse` repeatable, told apart by content. Every
    file is read now: a bad one is a 422 naming its file, line and column. The run then
    goes to the job queue: 202 with the run to follow at its URL (Location). The same
    files again, once a run of them is done, answer 200 with that run (`reused`): the
    same inputs, the same pending pool taken, the same outputs."""
    given = _uploads(
        settings.settlement_max_upload_bytes,
        contract,
        {"orders": orders, "payments": payments, "warehouse": warehouse},
    )
    if isinstance(given, JSONResponse):
        return given
    store = _store(catalog)
    try:
        made = service.create_run(store, writer.tenant, period, given, writer.key_id)
    except InputError as error:
        raise _named_as(error, "body") from None
    run_id = made.run.id
    audit_target(request, settlement_id=run_id)
    view = _view(store, writer.tenant, run_id, None)
    if made.reused:
        return {"settlement": view, "job": None, "reused": True}
    # A queue that refuses the job (503) leaves the run queued; the same upload again
    # makes a new run (only a done run is reused).
    args = service.job_args(catalog.job_url, run_id)
    info = jobs.submit(writer.tenant, service.SETTLEMENT_JOB.name, args)
    body = {"settlement": view, "job": job_json(info), "reused": False}
    return JSONResponse(body, status_code=202, headers={"Location": settlement_url(run_id)})


# --- runs read -----------------------------------------------------------------------------


@router.get(
    "",
    operation_id="list-settlements",
    response_model=list[SettlementRecordOut],
    responses=responses(DB, INVALID),
)
def list_settlements(
    reader: Reader,
    catalog: CatalogDep,
    brand: Annotated[str | None, Query(min_length=1, max_length=64, pattern=NO_NUL)] = None,
    period: Period = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[JsonObject]:
    """The tenant's runs, newest first (a brand viewer: its brand's; `brand` cuts to one
    brand, which for a brand viewer must be its own), optionally of one period."""
    if brand is not None:
        authorize(reader, "read", reader.tenant, brand)
    scope = brand if brand is not None else reader.brand
    runs = _store(catalog).runs(reader.tenant, brand=scope, period=period, limit=limit)
    return [run.to_json(with_summary=False) for run in runs]


@router.get(
    "/{settlement_id}",
    operation_id="get-settlement",
    response_model=SettlementOut,
    responses=responses(DB, NOT_FOUND, INVALID),
)
def get_settlement(settlement_id: RunId, reader: Reader, catalog: CatalogDep) -> JsonObject:
    """A run: its status, brand, period and files; once done, its summary (outcome
    counts, control totals, the bill in short, the pending pool it took and holds);
    once failed, its error (`error_kind` input: the files; control: the re-check)."""
    return _view(_store(catalog), reader.tenant, settlement_id, reader.brand)


@router.get(
    "/{settlement_id}/outcomes",
    operation_id="list-settlement-outcomes",
    response_model=OutcomePage,
    responses=responses(DB, NOT_FOUND, INVALID, NOT_DONE),
)
def list_outcomes(
    settlement_id: RunId,
    reader: Reader,
    catalog: CatalogDep,
    outcome: Outcome | None = None,
    source: Literal["orders", "payments", "movements"] | None = None,
    order_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    shop: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    resolved: bool | None = None,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    """The outcome of every record of a done run, in the order the matching gives them,
    a page at a time: of one outcome, source, order or shop (when the outcomes carry
    shops), resolved by hand or not; each with its current resolution. 409 until done."""
    wanted = service.OutcomeFilter(outcome, source, order_id, shop, resolved)
    store = _store(catalog)
    try:
        return service.outcomes_page(
            store, reader.tenant, settlement_id, reader.brand, wanted, offset, limit
        )
    except service.RunNotDone as error:
        return _not_done(error)
    except InputError as error:
        raise _named_as(error, "query") from None


@router.get(
    "/{settlement_id}/bill",
    operation_id="get-settlement-bill",
    response_model=BillOut,
    responses=responses(DB, NOT_FOUND, INVALID, NOT_DONE),
)
def get_bill(settlement_id: RunId, reader: Reader, catalog: CatalogDep) -> Any:
    """The brand's bill of a done run: per shop the settled GMV, the fee and the
    exceptions held out of it, money as decimal strings. 409 until done."""
    try:
        return service.bill(_store(catalog), reader.tenant, settlement_id, reader.brand)
    except service.RunNotDone as error:
        return _not_done(error)


@router.get(
    "/{settlement_id}/bill.xlsx",
    operation_id="get-settlement-bill-xlsx",
    response_class=Response,
    responses={
        200: {"content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}},
        **responses(DB, NOT_FOUND, INVALID, NOT_DONE),
    },
)
def get_bill_xlsx(settlement_id: RunId, reader: Reader, catalog: CatalogDep) -> Response:
    """The bill as a workbook for the brand: a summary sheet, a sheet per shop and the
    held exceptions. 409 until done."""
    store = _store(catalog)
    try:
        data = service.bill_xlsx(store, reader.tenant, settlement_id, reader.brand)
    except service.RunNotDone as error:
        return _not_done(error)
    run = store.run(reader.tenant, settlement_id, with_summary=False)
    name = f"bill-{run.period}.xlsx"
    return Response(
        data, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


# --- resolving by hand ---------------------------------------------------------------------


@router.post(
    "/{settlement_id}/resolutions",
    operation_id="create-settlement-resolution",
    status_code=201,
    response_model=ResolutionOut,
    responses=responses(DB, NOT_FOUND, WITH_BODY, NOT_DONE),
)
def create_resolution(
    request: Request,
    settlement_id: RunId,
    body: ResolutionRequest,
    writer: Writer,
    catalog: CatalogDep,
) -> Any:
    """Resolve an exception of a done run by hand (who: the key): appended to the run's
    trail, the record's latest resolution being its current one. A record the run does
    not have, or one that matched, is a 422 naming it; 409 until the run is done."""
    audit_target(request, settlement_id=settlement_id)
    store = _store(catalog)
    try:
        made = service.resolve(
            store, writer.tenant, settlement_id, body.record, body.note, writer.key_id
        )
    except service.RunNotDone as error:
        return _not_done(error)
    except InputError as error:
        raise _named_as(error, "body") from None
    return {**made.to_json(), "current": True}


@router.get(
    "/{settlement_id}/resolutions",
    operation_id="list-settlement-resolutions",
    response_model=list[ResolutionOut],
    responses=responses(DB, NOT_FOUND, INVALID),
)
def list_resolutions(
    settlement_id: RunId,
    reader: Reader,
    catalog: CatalogDep,
    record: Annotated[str | None, Query(min_length=1, max_length=600, pattern=NO_NUL)] = None,
) -> list[JsonObject]:
    """The run's resolutions in the order they were made (of one record, when given),
    each saying whether it is its record's current one."""
    return service.resolutions(_store(catalog), reader.tenant, settlement_id, reader.brand, record)
