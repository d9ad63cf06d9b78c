"""Listing jobs: a brand's catalog products listed on its shops, or prices set, run by
the job queue (or a dry run: what would be sent, nothing stored, no call); the jobs with
their progress and items; cancel, resume and a read-back now. Also the stock push a
publish asks for (api/routes/publishing.py). A brand viewer reads its brand's jobs; a
stock push concerns every brand, so only whole-tenant keys read it."""

from __future__ import annotations

import hashlib
import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

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
    ChangedMeanwhile,
    JobEnded,
    conflicts,
    location,
    responses,
)
from api.schemas.listings import (
    STARTED_LINKS,
    ItemPage,
    ListingOut,
    ListingRecordOut,
    ListingRequest,
    ListingRunning,
    ListingStarted,
    PreviewOut,
    ReadbackOut,
    ResumeRequest,
)
from api.urls import job_json, listing_url
from engine.access.roles import Principal, authorize
from engine.core.errors import InputError, Issue
from engine.core.io import parse_plan
from engine.core.settings import Settings
from engine.db.errors import Conflict as DbConflict
from engine.db.errors import NotFound as DbNotFound
from engine.jobs.base import JobInfo, JobQueue
from engine.listing.accounts import accounts_from
from engine.listing.jobstore import ItemState, JobRecord, ListingStore
from engine.services import listings as service
from engine.services.catalog import Catalog
from engine.services.plans import stored_plan
from engine.services.snapshots import stored_snapshot
from engine.store.base import JsonObject, Store
from rules.load import parse_ruleset

router = APIRouter(route_class=JsonRoute, tags=["listings"], prefix="/listings")
DB = (*KEYED, DATABASE)
# The brand of a stock push (engine/services/listings.py preview_stock): every brand.
EVERY_BRAND = "*"
# The sources of the service's input errors about the request: their paths are the
# body's fields (brand, shops[i], skus[i], prices[n]...).
REQUEST_SOURCES = ("listing", "price update")
STARTED = Answer(
    202, "the job, handed to the job queue", (ListingStarted,), location("listing"), STARTED_LINKS
)


def _listings(catalog: Catalog) -> ListingStore:
    # The jobs live on the catalog's database, beside the products they list. The
    # engine is the catalog's: never disposed here.
    return ListingStore(catalog.store.engine)


def _place(settings: Settings, catalog: Catalog) -> service.RunPlace:
    return service.RunPlace(catalog.job_url, settings.redis_url, accounts_from(settings))


def _submit(
    jobs: JobQueue, settings: Settings, catalog: Catalog, tenant: str, listing_id: str
) -> JobInfo:
    """Hand the listing job to the job queue, whose run opens the catalog's database."""
    return service.submit_run(jobs, settings, catalog.job_url, tenant, listing_id)


def _started(listings: ListingStore, tenant: str, listing_id: str, info: JobInfo) -> JSONResponse:
    """202: the listing (ListingStarted) and the queue's job, Location the listing's URL."""
    body = {"listing": service.job_view(listings, tenant, listing_id), "job": job_json(info)}
    return JSONResponse(body, status_code=202, headers={"Location": listing_url(listing_id)})


def _readable(reader: Principal, listings: ListingStore, listing_id: str) -> JobRecord:
    """The job, if the key may read it: 404 when there is none, 403 for a brand
    viewer's key on another brand's job or a stock push (every brand's)."""
    job = listings.job(reader.tenant, listing_id)
    authorize(reader, "read", reader.tenant, None if job.brand == EVERY_BRAND else job.brand)
    return job


# --- asking for a job ----------------------------------------------------------------------


def _request_issues(body: ListingRequest) -> list[Issue]:
    """What the request's fields say against each other (the service checks them
    against the catalog)."""
    if body.kind == "publish":
        if body.prices is not None:
            return [Issue("prices", "only for kind price; a listing sends the catalog's prices")]
        return []
    issues = [
        Issue(name, "only for kind publish; a price job goes to the shops of its prices")
        for name in ("shops", "skus")
        if getattr(body, name) is not None
    ]
    if body.prices is None:
        issues.append(Issue("prices", "a price job needs prices: [{shop, sku, price}]"))
    first: dict[tuple[str, str], int] = {}
    for n, row in enumerate(body.prices or []):
        at = first.setdefault((row.shop, row.sku), n)
        if at != n:
            message = f"a second price for SKU {row.sku} on shop {row.shop} (first at prices[{at}])"
            issues.append(Issue(f"prices[{n}]", message))
    return issues


# preview_prices names a price row's unknown shop by the row alone.
_PRICE_ROW = re.compile(r"prices\[\d+\]")


def _in_body(issue: Issue) -> Issue:
    path = f"{issue.path}.shop" if _PRICE_ROW.fullmatch(issue.path) else issue.path
    return Issue(path, issue.message)


def _preview(catalog: Catalog, tenant: str, body: ListingRequest) -> service.ListingPreview:
    issues = _request_issues(body)
    if issues:
        raise InputError(issues, "body")
    try:
        if body.kind == "price":
            prices = {(row.shop, row.sku): row.price for row in body.prices or []}
            return service.preview_prices(catalog, tenant, body.brand, prices)
        return service.preview_publish(
            catalog, tenant, body.brand, shops=body.shops, skus=body.skus
        )
    except InputError as error:
        if error.source not in REQUEST_SOURCES:
            raise
        raise InputError([_in_body(i) for i in error.issues], "body") from None


@router.post(
    "",
    operation_id="create-listing",
    response_model=PreviewOut,
    responses=responses(
        Answer(200, "a dry run: every item the job would hold; nothing stored", (PreviewOut,)),
        STARTED,
        DB,
        WITH_BODY,
    ),
)
def create_listing(
    request: Request,
    body: ListingRequest,
    writer: Writer,
    catalog: CatalogDep,
    jobs: JobsDep,
    settings: SettingsDep,
) -> Any:
    """A listing (`publish`) or price job: every item worked out and checked before any
    call, then run by the job queue: 202 with the listing to follow at its URL
    (Location). With `dry_run`, 200 with every payload and every refused field instead;
    nothing is stored and no platform is called. A brand, shop or SKU the catalog does
    not have is a 422 naming the field."""
    preview = _preview(catalog, writer.tenant, body)
    if body.dry_run:
        return preview.to_json()
    listings = _listings(catalog)
    record = service.create_job(listings, writer.tenant, preview, writer.key_id, {})
    audit_target(request, listing_id=record.id)
    # A queue that refuses the job (503) leaves it queued: a resume hands it over again.
    info = _submit(jobs, settings, catalog, writer.tenant, record.id)
    return _started(listings, writer.tenant, record.id, info)


# --- reading jobs --------------------------------------------------------------------------


@router.get(
    "",
    operation_id="list-listings",
    response_model=list[ListingRecordOut],
    responses=responses(DB, INVALID),
)
def list_listings(
    reader: Reader,
    catalog: CatalogDep,
    brand: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[JsonObject]:
    """The listing jobs, newest first (a brand viewer: its brand's; `brand` cuts to one
    brand, which for a brand viewer must be its own)."""
    if brand is not None:
        authorize(reader, "read", reader.tenant, brand)
    scope = brand if brand is not None else reader.brand
    return [job.to_json() for job in _listings(catalog).jobs(reader.tenant, scope, limit)]


@router.get(
    "/{listing_id}",
    operation_id="get-listing",
    response_model=ListingOut,
    responses=responses(DB, NOT_FOUND, INVALID),
)
def get_listing(listing_id: str, reader: Reader, catalog: CatalogDep) -> JsonObject:
    """A job with its progress: items done of all, per shop and per state; after a run,
    its summary (a listing's: the read-back of what it sent)."""
    listings = _listings(catalog)
    _readable(reader, listings, listing_id)
    return service.job_view(listings, reader.tenant, listing_id)


@router.get(
    "/{listing_id}/items",
    operation_id="list-listing-items",
    response_model=ItemPage,
    responses=responses(DB, NOT_FOUND, INVALID),
)
def list_items(
    listing_id: str,
    reader: Reader,
    catalog: CatalogDep,
    state: ItemState | None = None,
    shop: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    with_intent: bool = False,
) -> JsonObject:
    """A job's items by shop and product, a page at a time, optionally of one state or
    one shop; each with its state, attempts, the platform's item id and, when refused,
    rejected or failed, the field and why. `with_intent`: what was (or is to be) sent."""
    listings = _listings(catalog)
    _readable(reader, listings, listing_id)
    total, items = service.item_page(
        listings, reader.tenant, listing_id, state=state, shop=shop, offset=offset, limit=limit
    )
    return {"total": total, "offset": offset, "items": [i.to_json(with_intent) for i in items]}


# --- acting on a job -----------------------------------------------------------------------


@router.post(
    "/{listing_id}/cancel",
    operation_id="cancel-listing",
    response_model=ListingOut,
    responses=responses(DB, NOT_FOUND, INVALID, conflicts(JobEnded, ChangedMeanwhile)),
)
def cancel_listing(
    request: Request, listing_id: str, writer: Writer, catalog: CatalogDep
) -> JsonObject:
    """Stop a job: a running one within a second (calls under way finish), any other at
    once; its open items stay open for a resume. 409 once it has finished."""
    listings = _listings(catalog)
    service.cancellable(listings, writer.tenant, listing_id)
    audit_target(request, listing_id=listing_id)
    listings.request_cancel(writer.tenant, listing_id)
    return service.job_view(listings, writer.tenant, listing_id)


@router.post(
    "/{listing_id}/resume",
    operation_id="resume-listing",
    status_code=202,
    response_model=ListingStarted,
    responses=responses(STARTED, DB, WITH_BODY, NOT_FOUND, conflicts(ListingRunning)),
)
def resume_listing(
    request: Request,
    listing_id: str,
    writer: Writer,
    catalog: CatalogDep,
    jobs: JobsDep,
    settings: SettingsDep,
    body: ResumeRequest | None = None,
) -> Any:
    """Run a job again from where it stopped (cancelled, interrupted, or its shops
    failed to answer): its open items are sent, nothing listed twice. 409 while its
    status is queued or running, as a run may be on the way; `force` when that run is
    known to be dead (a run killed with its process leaves "running")."""
    listings = _listings(catalog)
    force = body is not None and body.force
    try:
        service.resumable(listings, writer.tenant, listing_id, force)
    except service.MayStillRun as running:
        detail = {"job": listing_id, "status": running.status, "message": running.message}
        return JSONResponse({"detail": detail}, status_code=409)
    audit_target(request, listing_id=listing_id)
    # a cancelled job goes on
    info = service.resume(listings, jobs, settings, catalog.job_url, writer.tenant, listing_id)
    return _started(listings, writer.tenant, listing_id, info)


@router.post(
    "/{listing_id}/readback",
    operation_id="read-back-listing",
    response_model=ReadbackOut,
    responses=responses(DB, NOT_FOUND, INVALID),
)
def read_back(
    listing_id: str, writer: Writer, catalog: CatalogDep, settings: SettingsDep
) -> JsonObject:
    """Read every item the job sent from its shop now and compare it, field by field,
    with what was sent: the share held exactly, every difference, what is missing, the
    shops that could not be read. Paced like any call, so a large job takes a while."""
    _listings(catalog).job(writer.tenant, listing_id)  # 404 before any call
    return service.refresh(_place(settings, catalog), writer.tenant, listing_id)


# --- the stock push of a publish ------------------------------------------------------------


def push_id(plan_id: str, idempotency_key: str) -> str:
    """The listing id of a publish's stock push: one per publish request, so a repeated
    request (the same Idempotency-Key) finds the push the first one made."""
    digest = hashlib.sha256(f"{plan_id}\n{idempotency_key}".encode()).hexdigest()
    return f"push-{digest[:32]}"


def _push_answer(job: JobRecord) -> JsonObject:
    options = job.options
    return {
        "listing_id": job.id,
        "url": listing_url(job.id),
        "updates": options.get("updates", 0),
        "held": options.get("held", 0),
        "held_by_reason": options.get("held_by_reason", {}),
        "message": "the updates go out in the listing job at `url`",
    }


def push_stock(
    catalog: Catalog,
    jobs: JobQueue,
    settings: Settings,
    store: Store,
    author: str,
    plan_id: str,
    idempotency_key: str,
) -> JsonObject:
    """Push a published plan's stock to every brand's shops: per shop and product the
    SKUs whose units changed since last sent (a small rise held as the sync_threshold
    rule says), as a listing job of kind stock; the answer's `push`. A repeated publish
    request answers with the push the first made and makes none."""
    tenant = store.tenant
    listings = _listings(catalog)
    listing_id = push_id(plan_id, idempotency_key)
    try:
        # A repeat: the first request's push. Were it refused by the queue (503), it
        # stays queued and a resume at its URL runs it; it is never handed over twice.
        return _push_answer(listings.job(tenant, listing_id))
    except DbNotFound:
        pass
    document, meta = stored_plan(store, plan_id)
    # Published: the plan was made on the stock stored now, and on its ruleset version.
    _, snapshot = stored_snapshot(store)
    ruleset = parse_ruleset(store.get_ruleset(meta["ruleset_version"]).body, "stored ruleset")
    plan = parse_plan(document, "stored plan")
    preview, pushed = service.preview_stock(catalog, listings, tenant, plan, snapshot, ruleset)
    held = service.held_summary(pushed)
    if not preview.items:
        return {
            "listing_id": None,
            "url": None,
            "updates": 0,
            "held": held["held"],
            "held_by_reason": held["held_by_reason"],
            "message": "nothing to send: every shop holds the plan's units, or the change is held",
        }
    options = {**held, "updates": len(preview.items), "plan_id": plan_id}
    try:
        record = listings.create_job(
            tenant,
            listing_id,
            kind=preview.kind,
            brand=preview.brand,
            created_by=author,
            options=options,
            items=preview.items,
        )
    except DbConflict:
        # The same request at the same moment made it first: that one submits it.
        return _push_answer(listings.job(tenant, listing_id))
    _submit(jobs, settings, catalog, tenant, listing_id)
    return _push_answer(record)
