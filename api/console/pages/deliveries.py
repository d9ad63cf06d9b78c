"""Who gets the reports, when they are due, and what became of each delivery: the
report recipients (engine/reports/recipients.py), the schedules
(engine/reports/schedules.py) with each one's next firing, and the delivery log
(engine/reports/delivery/log.py), on the catalog's database as the API's
/v1/reports/recipients, /schedules and /deliveries read and write them.

Access is the API's: recipients and schedules are read with a whole-tenant key and
changed by operators; a brand viewer reads its brand's deliveries only. A form is
checked as the API checks its body (the same request models), and a bad one comes back
filled in, naming the field, with a fresh form; each form is acted on once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar, cast

from fastapi import Path, Query, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from api.console.web import Visit, VisitDep, console_router, redirect, render
from api.observe import audit_target
from api.routes.catalog import CatalogDep
from api.schemas.reports import RecipientRequest, ScheduleRequest
from engine.core.errors import InputError, Issue
from engine.db.errors import Conflict
from engine.reports.delivery.log import (
    READ_LIMIT,
    DeliveryLog,
    DeliveryRecord,
    Outcome,
    utc_now,
)
from engine.reports.recipients import Recipient, RecipientStore
from engine.reports.schedules import (
    CHINA,
    FiringRecord,
    Schedule,
    ScheduleStore,
    next_firing,
)

router = console_router()

PAGE_ROWS = 50
OUTCOMES = ("sent", "retry", "failed")
RECIPIENTS = "/reports/recipients"
SCHEDULES = "/reports/schedules"
DELIVERIES = "/reports/deliveries"
# The form's fields, as the API's request bodies name them.
RECIPIENT_FIELDS = ("brand", "kind", "channel", "target", "secret")
SCHEDULE_FIELDS = ("brand", "rule", "kind", "from", "to", "day", "lang", "label")
# The schedule store names a window's days start and end; the form (and the API) from/to.
FORM_NAME = {"start": "from", "end": "to"}

# A brand to filter by: empty for every brand (a GET form sends the field empty).
BrandFilter = Annotated[str, Query(max_length=64, pattern=r"^[^\x00/]*$")]
PageNumber = Annotated[int, Query(ge=1, le=100_000)]
RecordId = Annotated[int, Path(ge=1, le=2**62)]
Model = TypeVar("Model", bound=BaseModel)
Fact = tuple[str, object]  # a removal's review: a label's text key, the value


# --- shared ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Paged:
    """One page of a list: its rows, the page's number, how many pages and rows."""

    rows: Sequence[Any]
    page: int
    pages: int
    total: int


def _paged(rows: Sequence[Any], page: int) -> Paged:
    pages = max(1, -(-len(rows) // PAGE_ROWS))
    page = min(page, pages)  # past the end: the last page, not an empty table
    start = (page - 1) * PAGE_ROWS
    return Paged(rows[start : start + PAGE_ROWS], page, pages, len(rows))


def _checked(model: type[Model], posted: Mapping[str, str], fields: Sequence[str]) -> Model:
    """The posted form as the API's request body `model` (an empty field: not given);
    InputError naming each field at fault, as the API's 422 does."""
    given = {name: posted[name].strip() for name in fields if posted.get(name, "").strip()}
    try:
        return model.model_validate(given)
    except ValidationError as error:
        issues = [Issue(".".join(map(str, e["loc"])), e["msg"]) for e in error.errors()]
        raise InputError(issues, "form") from None


@dataclass(frozen=True)
class Refused:
    """A form not acted on: the status, each field's problem, the values to show again."""

    status: int
    issues: list[tuple[str, str]]
    values: dict[str, str]


def _refused(
    error: InputError | Conflict, posted: Mapping[str, str], fields: Sequence[str]
) -> Refused:
    """The form again after `error`: an InputError names its fields (the store's
    start/end as the form's from/to); a Conflict is the same target stored already. A
    secret is never sent back to the browser."""
    if isinstance(error, InputError):
        issues = [(FORM_NAME.get(i.path, i.path), i.message) for i in error.issues]
        status = 422
    else:
        issues, status = [("target", str(error))], 409
    values = {name: posted.get(name, "") for name in fields if name != "secret"}
    return Refused(status, issues, values)


def _manage_page(
    visit: Visit,
    template: str,
    action: str,
    rows: Sequence[Any],
    brand: str,
    page: int,
    defaults: dict[str, str],
    refused: Refused | None,
    shown: Mapping[int, str],
) -> Response:
    """A list with its add form (for a key that may write), or the form refused again.
    `shown` names each listed record by its id: the one the add form just stored is
    said by it (looked up, never the query's text, which anyone can put in a link)."""
    issues = refused.issues if refused else []
    added = visit.request.query_params.get("added", "")
    return render(
        visit.request,
        template,
        refused.status if refused else 200,
        listed=_paged(rows, page),
        brand=brand,
        china=CHINA,
        form=None if visit.session.read_only else visit.form(action),
        issues=issues,
        fields={name for name, _ in issues},
        values=refused.values if refused else defaults,
        added=shown.get(int(added)) if added.isdigit() else None,
        removed=visit.request.query_params.get("removed") == "1",
    )


async def _review_removal(
    visit: Visit, path: str, record_id: int, heading: str, facts: Callable[[], list[Fact]]
) -> Response:
    """The confirmation before a removal: what goes (`facts` read it, NotFound if it is
    not the tenant's), and the form that removes it; nothing is removed yet."""
    visit.may("write")
    action = f"{path}/{record_id}/remove"
    shown = await run_in_threadpool(facts)
    return render(
        visit.request,
        "deliveries_remove.html.j2",
        heading=heading,
        facts=shown,
        action=action,
        back=path,
        form=visit.form(action),
    )


async def _remove(
    visit: Visit, path: str, record_id: int, remove: Callable[[str, int], None], audit: str
) -> Response:
    """Remove the record once the confirmation's form is accepted (once)."""
    await visit.accept(f"{path}/{record_id}/remove")
    await run_in_threadpool(remove, visit.tenant, record_id)
    audit_target(visit.request, **{audit: str(record_id)})
    return redirect(path, removed="1")


# --- recipients -----------------------------------------------------------------------------


def _recipients_page(
    visit: Visit, engine: Engine, brand: str, page: int, refused: Refused | None = None
) -> Response:
    found = RecipientStore(engine).recipients(visit.tenant, brand or None)
    found.sort(key=lambda r: (r.brand, r.kind, r.id))  # per brand, then kind
    defaults = {"brand": brand, "kind": "all", "channel": "mail"}
    template = "deliveries_recipients.html.j2"
    shown = {r.id: r.target.shown for r in found}
    return _manage_page(visit, template, RECIPIENTS, found, brand, page, defaults, refused, shown)


@router.get(RECIPIENTS)
async def recipients(
    visit: VisitDep, catalog: CatalogDep, brand: BrandFilter = "", page: PageNumber = 1
) -> Response:
    """The tenant's recipients per brand and kind (a robot's token cut), and the form."""
    visit.may("read")  # the whole tenant's, as GET /v1/reports/recipients
    engine = catalog.store.engine
    return await run_in_threadpool(_recipients_page, visit, engine, brand, page)


@router.post(RECIPIENTS)
async def add_recipient(visit: VisitDep, catalog: CatalogDep) -> Response:
    """Store a recipient as POST /v1/reports/recipients does; a bad one is the page again,
    filled in (the secret excepted) and naming the field."""
    _, posted = await visit.accept(RECIPIENTS)
    engine = catalog.store.engine

    def add() -> Recipient:
        body = _checked(RecipientRequest, posted, RECIPIENT_FIELDS)
        return RecipientStore(engine).add(
            visit.tenant, body.brand, body.channel, body.target, body.kind, body.secret
        )

    try:
        made = await run_in_threadpool(add)
    except (InputError, Conflict) as error:
        refused = _refused(error, posted, RECIPIENT_FIELDS)
        return await run_in_threadpool(_recipients_page, visit, engine, "", 1, refused)
    audit_target(visit.request, recipient_id=str(made.id))
    return redirect(RECIPIENTS, brand=made.brand, added=str(made.id))


@router.get(RECIPIENTS + "/{recipient_id}/remove")
async def review_recipient_removal(
    visit: VisitDep, catalog: CatalogDep, recipient_id: RecordId
) -> Response:
    """Who would stop getting which reports, to confirm."""

    def facts() -> list[Fact]:
        found = RecipientStore(catalog.store.engine).get(visit.tenant, recipient_id)
        return [
            ("deliveries.target", found.target.shown),
            ("reports.brand", found.brand),
            ("reports.kind", found.kind),
        ]

    heading = "deliveries.recipients.remove"
    return await _review_removal(visit, RECIPIENTS, recipient_id, heading, facts)


@router.post(RECIPIENTS + "/{recipient_id}/remove")
async def remove_recipient(
    visit: VisitDep, catalog: CatalogDep, recipient_id: RecordId
) -> Response:
    """Stop sending to the recipient (its past deliveries stay in the log)."""
    store = RecipientStore(catalog.store.engine)
    return await _remove(visit, RECIPIENTS, recipient_id, store.remove, "recipient_id")


# --- schedules ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleRow:
    """A schedule as the page lists it: when it fires next, and its newest firing."""

    schedule: Schedule
    next_at: datetime | None
    due_now: bool
    last: FiringRecord | None


def _schedule_rows(engine: Engine, tenant: str, brand: str | None) -> list[ScheduleRow]:
    store = ScheduleStore(engine)
    schedules = store.schedules(tenant, brand)
    firings = store.firings(tenant, brand)  # newest first
    claimed = {firing.key for firing in firings}
    newest: dict[int, FiringRecord] = {}
    for firing in firings:
        if firing.schedule_id is not None:
            newest.setdefault(firing.schedule_id, firing)
    now = utc_now()
    rows = []
    for schedule in schedules:
        at = next_firing(schedule, now, claimed)
        rows.append(ScheduleRow(schedule, at, at == now, newest.get(schedule.id)))
    return rows


def _schedules_page(
    visit: Visit, engine: Engine, brand: str, page: int, refused: Refused | None = None
) -> Response:
    rows = _schedule_rows(engine, visit.tenant, brand or None)
    defaults = {"brand": brand, "rule": "after_window", "lang": visit.lang}
    template = "deliveries_schedules.html.j2"
    shown = {row.schedule.id: str(row.schedule.id) for row in rows}
    return _manage_page(visit, template, SCHEDULES, rows, brand, page, defaults, refused, shown)


@router.get(SCHEDULES)
async def schedules(
    visit: VisitDep, catalog: CatalogDep, brand: BrandFilter = "", page: PageNumber = 1
) -> Response:
    """The tenant's schedules, each with its next firing and its newest one's outcome."""
    visit.may("read")  # the whole tenant's, as GET /v1/reports/schedules
    engine = catalog.store.engine
    return await run_in_threadpool(_schedules_page, visit, engine, brand, page)


@router.post(SCHEDULES)
async def add_schedule(visit: VisitDep, catalog: CatalogDep) -> Response:
    """Store a schedule as POST /v1/reports/schedules does; a bad one is the page again,
    filled in and naming each field at fault."""
    _, posted = await visit.accept(SCHEDULES)
    engine = catalog.store.engine

    def add() -> Schedule:
        body = _checked(ScheduleRequest, posted, SCHEDULE_FIELDS)
        # The request's fields are the store's arguments, by name.
        return ScheduleStore(engine).add(visit.tenant, **body.model_dump())

    try:
        made = await run_in_threadpool(add)
    except InputError as error:
        refused = _refused(error, posted, SCHEDULE_FIELDS)
        return await run_in_threadpool(_schedules_page, visit, engine, "", 1, refused)
    audit_target(visit.request, schedule_id=str(made.id))
    return redirect(SCHEDULES, brand=made.brand, added=str(made.id))


@router.get(SCHEDULES + "/{schedule_id}/remove")
async def review_schedule_removal(
    visit: VisitDep, catalog: CatalogDep, schedule_id: RecordId
) -> Response:
    """The schedule that would be forgotten, to confirm."""

    def facts() -> list[Fact]:
        found = ScheduleStore(catalog.store.engine).get(visit.tenant, schedule_id)
        window: Fact = ("reports.window", f"{found.start} – {found.end}")
        return [
            ("reports.brand", found.brand),
            ("reports.kind", found.kind),
            ("deliveries.rule", found.rule),
            window if found.start else ("deliveries.day", found.day),
            ("deliveries.label", found.label or "–"),
        ]

    heading = "deliveries.schedules.remove"
    return await _review_removal(visit, SCHEDULES, schedule_id, heading, facts)


@router.post(SCHEDULES + "/{schedule_id}/remove")
async def remove_schedule(visit: VisitDep, catalog: CatalogDep, schedule_id: RecordId) -> Response:
    """Forget the schedule (its firings and deliveries stay on record)."""
    store = ScheduleStore(catalog.store.engine)
    return await _remove(visit, SCHEDULES, schedule_id, store.remove, "schedule_id")


# --- the delivery log -----------------------------------------------------------------------


def _attempts(
    engine: Engine, tenant: str, brand: str | None, status: str
) -> tuple[list[DeliveryRecord], bool]:
    """The newest attempts of `status` (at most the log's READ_LIMIT, as over the API),
    and whether the log holds more than were read."""
    outcome = cast(Outcome, status) if status else None
    read = DeliveryLog(engine).read(tenant, brand, None, READ_LIMIT, outcome=outcome)
    return read, len(read) == READ_LIMIT


@router.get(DELIVERIES)
async def deliveries(
    visit: VisitDep,
    catalog: CatalogDep,
    brand: BrandFilter = "",
    status: Annotated[Literal["", "sent", "retry", "failed"], Query()] = "",
    page: PageNumber = 1,
) -> Response:
    """Every attempt on every target, newest first, by brand and outcome (a brand
    viewer: its brand's; another brand's is refused, as over the API)."""
    scope = brand or visit.brand
    visit.may("read", scope)
    engine = catalog.store.engine
    found, cut = await run_in_threadpool(_attempts, engine, visit.tenant, scope, status)
    return render(
        visit.request,
        "deliveries_log.html.j2",
        listed=_paged(found, page),
        brand=brand,
        outcome=status,
        outcomes=OUTCOMES,
        cut=cut,
        limit=READ_LIMIT,
        china=CHINA,
    )
