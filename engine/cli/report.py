"""`omnistock report`: a brand's campaign or monthly report built, sent and scheduled.

    omnistock report build --demo --brand b1 --from 2026-11-10 --to 2026-11-12 --out DIR
    omnistock report build --tenant acme --brand b1 --from ... --to ... --lang en --out DIR
    omnistock report send  --tenant acme --brand b1 --from ... --to ... [--mail a@b.cn]
    omnistock report recipients add|list|remove ...
    omnistock report schedule add|list|remove|run ...
    omnistock report deliveries --tenant acme [--brand b1]

`build` writes the XLSX, HTML and PDF of the report; with `--demo` from the demo's data
(no server, no database), else from the tenant's state (Redis, or `omnistock serve`'s
state file) and the database. `send` builds and delivers it to the brand's stored
recipients (or the `--mail` addresses given) over SMTP and chat robots, once per window.
Exit codes: 0 ok, 2 invalid input, 1 a delivery that failed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from engine.cli.common import add_plain_row, err, fail, read_settings
from engine.core.errors import InputError, Issue, OmnistockError
from engine.core.settings import STATE_FILE_NAME, Settings
from engine.db import migrate
from engine.db.connect import connect
from engine.reports.delivery.log import DeliveryLog
from engine.reports.delivery.message import Target
from engine.reports.delivery.send import Senders, TargetOutcome, deliver
from engine.reports.model import Report
from engine.reports.recipients import RecipientStore, check_target
from engine.reports.render import render, summary_text
from engine.reports.schedules import ScheduleStore, firing_key
from engine.services import reports as service
from engine.services.stores import StoreRegistry, store_registry

report = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
recipients_app = typer.Typer(add_completion=False, no_args_is_help=True)
schedule_app = typer.Typer(add_completion=False, no_args_is_help=True)
report.add_typer(recipients_app, name="recipients", help="who gets a brand's reports")
report.add_typer(schedule_app, name="schedule", help="when a brand's reports are due")
out = Console()

Brand = Annotated[str, typer.Option("--brand", help="the brand the report is of")]
Start = Annotated[str, typer.Option("--from", help="the window's first day, YYYY-MM-DD")]
End = Annotated[str, typer.Option("--to", help="the window's last day, YYYY-MM-DD")]
Tenant = Annotated[str, typer.Option("--tenant", help="the tenant whose data it is")]
Kind = Annotated[str, typer.Option("--kind", help="campaign or monthly")]
Lang = Annotated[str, typer.Option("--lang", help="zh or en: the labels' language")]
Demo = Annotated[bool, typer.Option("--demo", help="from the demo's data, no server")]
DemoSkus = Annotated[
    int, typer.Option("--demo-skus", min=100, max=50_000, help="the demo's size in SKUs")
]


def _day(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(InputError([Issue(field, f"{value!r} is not a date (YYYY-MM-DD)")], "command line"))


def _kind(value: str) -> str:
    if value not in service.KINDS:
        fail(InputError([Issue("kind", f"{value!r}: use campaign or monthly")], "command line"))
    return value


def _database(settings: Settings) -> str:
    """This machine's database, migrated if it is behind (as `omnistock catalog`)."""
    url = settings.database()
    migrate.upgrade(url)
    return url


def _stores(settings: Settings) -> StoreRegistry:
    """The tenants' state: Redis when set, else the state file `omnistock serve` keeps."""
    if not settings.redis_url and settings.state_path is None:
        settings = settings.model_copy(
            update={"state_path": settings.keys_file.parent / STATE_FILE_NAME}
        )
    return store_registry(settings)


def _report(demo: int | None, tenant: str, brand: str, start: str, end: str, kind: str) -> Report:
    """The report: of the demo of `demo` SKUs, or of the tenant's data when None."""
    first, last = _day(start, "from"), _day(end, "to")
    with err.status("gathering the window's data and computing the figures"):
        if demo is not None:
            from engine.reports.demo import demo_inputs
            from engine.reports.figures import build_report

            which: Literal["campaign", "monthly"] = "monthly" if kind == "monthly" else "campaign"
            _kind(kind)
            inputs = demo_inputs(brand, first, last, skus=demo, kind=which)
            return build_report(inputs)
        settings = read_settings()
        store = _stores(settings).get(tenant)
        engine = connect(_database(settings))
        try:
            return service.report_of(store, engine, brand, first, last, _kind(kind))
        finally:
            engine.dispose()


@report.command("build")
def build(
    brand: Brand,
    start: Start,
    end: End,
    out_dir: Annotated[Path, typer.Option("--out", help="the folder the files go to")],
    lang: Lang = "zh",
    kind: Kind = "campaign",
    tenant: Tenant = "local",
    demo: Demo = False,
    demo_skus: DemoSkus = 5000,
) -> None:
    """Build a brand's report of a window: XLSX (native charts), HTML and PDF."""
    try:
        built = _report(demo_skus if demo else None, tenant, brand, start, end, kind)
        with err.status("drawing the workbook, the page and the PDF"):
            paths = render(built, lang, out_dir, font_file=read_settings().report_font)
    except OmnistockError as error:
        fail(error)
    out.print(summary_text(built, lang), highlight=False)
    for fmt, path in paths.items():
        out.print(f"{fmt}: {path}", highlight=False)


@report.command("send")
def send(
    brand: Brand,
    start: Start,
    end: End,
    lang: Lang = "zh",
    kind: Kind = "campaign",
    tenant: Tenant = "local",
    demo: Demo = False,
    demo_skus: DemoSkus = 5000,
    mail: Annotated[
        list[str] | None,
        typer.Option("--mail", help="send to this address (repeatable) instead of the stored"),
    ] = None,
) -> None:
    """Build a brand's report and deliver it: to the brand's stored recipients of the
    report's kind, or to the `--mail` addresses. Each target gets the report of a
    window once; every attempt is in the delivery log (`report deliveries`)."""
    settings = read_settings()
    try:
        targets = [check_target("mail", address) for address in mail or []]
        built_report = _report(demo_skus if demo else None, tenant, brand, start, end, kind)
        with err.status("drawing the workbook, the page and the PDF"):
            built = service.draw(built_report, lang, settings.report_font)
        engine = connect(_database(settings))
        try:
            with err.status("delivering"):
                outcomes = _deliver(engine, settings, built, targets)
        finally:
            engine.dispose()
    except OmnistockError as error:
        fail(error)
    _print_outcomes(outcomes)
    if any(o.outcome == "failed" for o in outcomes) or not outcomes:
        if not outcomes:
            err.print(f"brand {brand} has no recipients for {kind} reports: nothing sent")
        raise typer.Exit(1)


def _deliver(
    engine: Engine, settings: Settings, built: service.Built, targets: list[Target]
) -> list[TargetOutcome]:
    if not targets:
        return service.send_build(engine, settings, built)
    report_ = built.report
    key = firing_key(report_.tenant, report_.brand, report_.kind, report_.start, report_.end)
    senders = Senders.from_settings(settings)
    try:
        message = service.built_message(built, font_file=settings.report_font)
        log = DeliveryLog(engine)
        return deliver(log, senders, report_.tenant, report_.brand, key, message, targets)
    finally:
        senders.close()


def _print_outcomes(outcomes: list[TargetOutcome]) -> None:
    table = Table("channel", "target", "outcome", "attempts", "reason")
    for o in outcomes:
        add_plain_row(
            table, o.target.channel, o.target.shown, o.outcome, str(o.attempts), o.reason or ""
        )
    out.print(table)


@report.command("deliveries")
def deliveries(
    tenant: Tenant = "local",
    brand: Annotated[str | None, typer.Option("--brand")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
) -> None:
    """The delivery log, newest first: every attempt, its outcome and reason."""
    engine = connect(_database(read_settings()))
    try:
        rows = DeliveryLog(engine).read(tenant, brand, limit=limit)
    except OmnistockError as error:
        fail(error)
    finally:
        engine.dispose()
    table = Table("at", "brand", "key", "channel", "target", "attempt", "outcome", "reason")
    for r in rows:
        body = r.to_json()
        add_plain_row(
            table,
            *(
                str(body.get(name) if body.get(name) is not None else "")
                for name in ("at", "brand", "key", "channel", "target", "attempt", "outcome")
            ),
            str(body.get("reason") or ""),
        )
    out.print(table)


# --- recipients -----------------------------------------------------------------------------


@recipients_app.command("add")
def recipients_add(
    brand: Brand,
    target: Annotated[str, typer.Argument(help="a mail address or a robot's webhook URL")],
    channel: Annotated[str, typer.Option("--channel", help="mail, wecom or dingtalk")] = "mail",
    kind: Annotated[str, typer.Option("--kind", help="campaign, monthly or all")] = "all",
    secret: Annotated[str | None, typer.Option("--secret", help="DingTalk signing")] = None,
    tenant: Tenant = "local",
) -> None:
    """Send a brand's reports (of a kind, or all) to a mail address or a chat robot."""
    engine = connect(_database(read_settings()))
    try:
        made = RecipientStore(engine).add(tenant, brand, channel, target, kind, secret)
    except OmnistockError as error:
        fail(error)
    finally:
        engine.dispose()
    out.print(f"recipient {made.id}: {made.target.shown} gets {brand}'s {kind} reports")


@recipients_app.command("list")
def recipients_list(
    tenant: Tenant = "local", brand: Annotated[str | None, typer.Option("--brand")] = None
) -> None:
    """The stored recipients."""
    engine = connect(_database(read_settings()))
    try:
        found = RecipientStore(engine).recipients(tenant, brand)
    finally:
        engine.dispose()
    table = Table("id", "brand", "kind", "channel", "target")
    for r in found:
        add_plain_row(table, str(r.id), r.brand, r.kind, r.target.channel, r.target.shown)
    out.print(table)


@recipients_app.command("remove")
def recipients_remove(recipient_id: int, tenant: Tenant = "local") -> None:
    """Stop sending to a recipient."""
    engine = connect(_database(read_settings()))
    try:
        RecipientStore(engine).remove(tenant, recipient_id)
    except OmnistockError as error:
        fail(error)
    finally:
        engine.dispose()
    out.print(f"recipient {recipient_id} removed")


# --- schedules ------------------------------------------------------------------------------


@schedule_app.command("add")
def schedule_add(
    brand: Brand,
    rule: Annotated[str, typer.Option("--rule", help="after_window, monthly or on_demand")],
    start: Annotated[
        str | None, typer.Option("--from", help="a campaign window's first day")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="a campaign window's last day")] = None,
    day: Annotated[int | None, typer.Option("--day", help="monthly: the day of the month")] = None,
    label: Annotated[str | None, typer.Option("--label", help="e.g. Double-11")] = None,
    lang: Lang = "zh",
    tenant: Tenant = "local",
) -> None:
    """Schedule a brand's report: after a campaign window ends, monthly on day N (for
    the month before), or once, now (on demand)."""
    first = _day(start, "from") if start else None
    last = _day(end, "to") if end else None
    engine = connect(_database(read_settings()))
    try:
        made = ScheduleStore(engine).add(
            tenant, brand, rule, start=first, end=last, day=day, lang=lang, label=label
        )
    except OmnistockError as error:
        fail(error)
    finally:
        engine.dispose()
    out.print(f"schedule {made.id}: {made.to_json()}", highlight=False)


@schedule_app.command("list")
def schedule_list(
    tenant: Tenant = "local", brand: Annotated[str | None, typer.Option("--brand")] = None
) -> None:
    """The stored schedules."""
    engine = connect(_database(read_settings()))
    try:
        found = ScheduleStore(engine).schedules(tenant, brand)
    finally:
        engine.dispose()
    table = Table("id", "brand", "kind", "rule", "window", "day", "lang", "active")
    for s in found:
        window = f"{s.start} .. {s.end}" if s.start else ""
        add_plain_row(
            table, str(s.id), s.brand, s.kind, s.rule, window, str(s.day or ""), s.lang,
            "yes" if s.active else "no",
        )  # fmt: skip
    out.print(table)


@schedule_app.command("remove")
def schedule_remove(schedule_id: int, tenant: Tenant = "local") -> None:
    """Remove a schedule (its firings and deliveries stay in the log)."""
    engine = connect(_database(read_settings()))
    try:
        ScheduleStore(engine).remove(tenant, schedule_id)
    except OmnistockError as error:
        fail(error)
    finally:
        engine.dispose()
    out.print(f"schedule {schedule_id} removed")


@schedule_app.command("run")
def schedule_run(
    now: Annotated[
        str | None, typer.Option("--now", help="as if at this moment (ISO 8601, tests)")
    ] = None,
) -> None:
    """Fire every schedule due now, across tenants, each once (as the worker's tick
    does): build, draw and deliver each due report."""
    settings = read_settings()
    moment = datetime.now(UTC)
    if now is not None:
        try:
            moment = datetime.fromisoformat(now)
        except ValueError:
            fail(InputError([Issue("now", f"{now!r} is not an ISO 8601 moment")], "command line"))
        if moment.tzinfo is None:
            fail(InputError([Issue("now", "give the offset, e.g. +08:00")], "command line"))
    registry = _stores(settings)
    fired = service.fire_schedules(_database(settings), settings, registry.get, moment)
    table = Table("key", "outcome", "error")
    for f in fired:
        add_plain_row(table, f.firing.key, f.outcome, f.error or "")
    out.print(table)
    if not fired:
        out.print("no report is due")
    if any(f.outcome != "sent" for f in fired):
        raise typer.Exit(1)
