"""Reports as the CLI and the API use them: a brand's report built from the tenant's data
(or the demo's), drawn in every format, kept as a build, mailed and posted to its
recipients once per window, and the schedules that do all of it on their own.

The figures are computed when a build is asked for (a bad window or an unknown brand is
refused there, naming the field); drawing the files - the PDF takes seconds - is the
build's job (`REPORT_JOB`), which stores the files with the build in one transaction.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from engine.catalog.store import CatalogStore
from engine.core.settings import Settings
from engine.db.connect import connect
from engine.jobs.base import JobInfo, JobQueue
from engine.jobs.kinds import JobFailed, JobKind, Report
from engine.reports.builds import FORMATS, BuildRecord, BuildStatus, BuildStore
from engine.reports.delivery.log import DeliveryLog
from engine.reports.delivery.message import PDF, XLSX, Attachment, Message
from engine.reports.delivery.send import Senders, TargetOutcome, deliver, overall
from engine.reports.figures import build_report
from engine.reports.inputs import ReportInputs, gather
from engine.reports.model import Report as BuiltReport
from engine.reports.recipients import RecipientStore
from engine.reports.render import file_name, render, summary_text
from engine.reports.render.fonts import cjk_font
from engine.reports.render.mail import mail_body
from engine.reports.schedules import Fired, Firing, ScheduleStore, fire_due, firing_key
from engine.settlement.runstore import SettlementStore
from engine.store.base import JsonObject, Store

__all__ = [
    "REPORT_JOB",
    "REPORT_SEND_JOB",
    "Built",
    "built_message",
    "draw",
    "fire_schedules",
    "report_of",
    "send_build",
    "start_build",
]

KINDS = ("campaign", "monthly")


@dataclass(frozen=True)
class Built:
    """A report and its files, by format."""

    report: BuiltReport
    lang: str
    files: dict[str, bytes]


def report_of(
    store: Store,
    database: Engine,
    brand: str,
    start: date,
    end: date,
    kind: str = "campaign",
    today: date | None = None,
) -> BuiltReport:
    """The tenant's report of `brand` over `start`..`end` from its store (snapshot, plans,
    the audit log of their publishing) and its database (settlement runs, the newest
    price check), as of the window's end. InputError naming the field for a window
    that is empty, in the future or too long, or a brand the snapshot does not have."""
    inputs: ReportInputs = gather(
        store,
        brand,
        start,
        end,
        today=today or datetime.now(UTC).date(),
        kind="monthly" if kind == "monthly" else "campaign",
        settlement_runs=SettlementStore(database),
        catalog=CatalogStore(database),
    )
    return build_report(inputs)


def draw(report: BuiltReport, lang: str, font_file: Path | None = None) -> Built:
    """The report drawn in every format, the files' bytes by format."""
    with tempfile.TemporaryDirectory(prefix="omnistock-report-") as folder:
        paths = render(report, lang, Path(folder), FORMATS, font_file=font_file)
        return Built(report, lang, {fmt: path.read_bytes() for fmt, path in paths.items()})


def built_message(built: Built, link: str | None = None, font_file: Path | None = None) -> Message:
    """The mail of a build: a body made for mail clients (render/mail.py: its charts as
    images in the mail), the workbook and the PDF attached; its summary and link for
    chat robots. `font_file`: the settings' Chinese font, as `draw` was given."""
    report, lang = built.report, built.lang
    summary = summary_text(report, lang)
    subject = summary.splitlines()[0]
    body = mail_body(report, lang, cjk_font(font_file) if font_file is not None else None)
    return Message(
        subject=f"{subject} ({report.start} - {report.end})",
        html=body.html,
        text=summary,
        attachments=(
            Attachment(file_name(report, lang, "xlsx"), built.files["xlsx"], XLSX),
            Attachment(file_name(report, lang, "pdf"), built.files["pdf"], PDF),
        ),
        images=body.images,
        summary=summary,
        link=link,
    )


# --- builds kept in the database ----------------------------------------------------------


def start_build(
    builds: BuildStore,
    jobs: JobQueue,
    report: BuiltReport,
    lang: str,
    created_by: str,
    database: str,
    font_file: Path | None = None,
) -> tuple[BuildRecord, JobInfo]:
    """Keep a build of the report (queued) and hand its drawing to the job queue."""
    record = builds.create(
        report.tenant, report.brand, report.kind, report.start, report.end, lang, created_by
    )
    args: JsonObject = {
        "database_url": database,
        "build_id": record.id,
        "tenant": report.tenant,
        "lang": lang,
        "report": report.to_json(),
        "font_file": str(font_file) if font_file else None,
    }
    info = jobs.submit(report.tenant, REPORT_JOB.name, args)
    return record, info


def stored_build(builds: BuildStore, record: BuildRecord) -> Built:
    """A done build's report and files, read back from the database."""
    if record.status is not BuildStatus.DONE or record.report is None:
        raise ValueError(f"report {record.id} is {record.status.value}, not done")
    files = {fmt: builds.file(record.tenant, record.id, fmt) for fmt in ("xlsx", "pdf", "html")}
    present = {fmt: data for fmt, data in files.items() if data is not None}
    return Built(BuiltReport.from_json(record.report), record.lang, present)


def _prepare(store: Store, args: JsonObject) -> JsonObject:
    return args


def _run(args: JsonObject, progress: Report) -> JsonObject:
    progress("draw", 0, 2)
    engine = connect(args["database_url"])
    builds = BuildStore(engine)
    try:
        record = builds.start(args["tenant"], args["build_id"])
        if record.status is not BuildStatus.RUNNING:  # a retried job: built already
            return {"report_id": record.id, "status": record.status.value}
        try:
            font = Path(args["font_file"]) if args.get("font_file") else None
            built = draw(BuiltReport.from_json(args["report"]), args["lang"], font)
        except Exception as error:
            builds.fail(args["tenant"], record.id, str(error))
            raise JobFailed(f"report {record.id} failed: {error}") from None
        progress("store", 1, 2)
        builds.finish(args["tenant"], record.id, args["report"], built.files)
        progress("store", 2, 2)
        return {"report_id": record.id, "status": BuildStatus.DONE.value}
    finally:
        engine.dispose()


def _finish(store: Store, outcome: JsonObject, job_id: str) -> JsonObject:
    return outcome


REPORT_JOB = JobKind("report", _prepare, _run, _finish)


# --- delivery -----------------------------------------------------------------------------


def send_build(
    database: Engine,
    settings: Settings,
    built: Built,
    link: str | None = None,
    senders: Senders | None = None,
    key: str | None = None,
) -> list[TargetOutcome]:
    """Mail and post a built report to its brand's recipients of its kind, each target
    once per `key` (default: the brand's, report kind's and window's - a target that has
    the report of that window already is not sent it again); every attempt in the
    delivery log."""
    own = senders is None
    senders = senders or Senders.from_settings(settings)
    try:
        report = built.report
        targets = RecipientStore(database).targets(report.tenant, report.brand, report.kind)
        return deliver(
            DeliveryLog(database),
            senders,
            report.tenant,
            report.brand,
            key or firing_key(report.tenant, report.brand, report.kind, report.start, report.end),
            built_message(built, link, settings.report_font),
            targets,
        )
    finally:
        if own:
            senders.close()


# --- the send job ------------------------------------------------------------------------
# Delivery retries wait (doubling, up to minutes for a greylisting server), so a send is
# a job, not a request. Its SMTP password never travels through the queue: the process
# that runs the job (a worker, a pool process of the server) reads its own settings.


def send_job_args(database: str, record: BuildRecord, link: str | None) -> JsonObject:
    return {"database_url": database, "tenant": record.tenant, "build_id": record.id, "link": link}


def _run_send(args: JsonObject, progress: Report) -> JsonObject:
    progress("deliver", 0, 1)
    engine = connect(args["database_url"])
    try:
        builds = BuildStore(engine)
        built = stored_build(builds, builds.get(args["tenant"], args["build_id"]))
        report = built.report
        key = firing_key(report.tenant, report.brand, report.kind, report.start, report.end)
        outcomes = send_build(engine, Settings(), built, args.get("link"), key=key)
    finally:
        engine.dispose()
    progress("deliver", 1, 1)
    result = {"report_id": args["build_id"], "key": key, "outcomes": outcomes_json(outcomes)}
    if overall(outcomes) == "failed":
        reasons = "; ".join(f"{o.target.shown}: {o.reason}" for o in outcomes) or "no recipient"
        raise JobFailed(f"report {args['build_id']} was not delivered: {reasons}")
    return result


REPORT_SEND_JOB = JobKind("report-send", _prepare, _run_send, _finish)


def fire_schedules(
    database: str,
    settings: Settings,
    store_of: Callable[[str], Store],
    now: datetime | None = None,
    senders: Senders | None = None,
) -> Sequence[Fired]:
    """Every schedule firing due now, across tenants: each claimed once (two workers
    firing at the same moment never send one twice), built from its tenant's data as
    of its window's end, drawn and delivered; one failure does not stop the others."""
    engine = connect(database)
    own = senders is None
    senders = senders or Senders.from_settings(settings)

    def run(firing: Firing) -> str:
        report = report_of(
            store_of(firing.tenant), engine, firing.brand, firing.start, firing.end,
            firing.kind,
        )  # fmt: skip
        built = draw(report, firing.lang, settings.report_font)
        outcomes = send_build(engine, settings, built, senders=senders, key=firing.key)
        return overall(outcomes)

    try:
        return fire_due(ScheduleStore(engine), now or datetime.now(UTC), run)
    finally:
        if own:
            senders.close()
        engine.dispose()


def outcomes_json(outcomes: Sequence[TargetOutcome]) -> list[dict[str, Any]]:
    return [o.to_json() for o in outcomes]


# --- the schedules' tick (engine/jobs/ticks.py) ------------------------------------------

TICK_NAME = "report-schedules"


def schedule_tick(args: JsonObject) -> list[JsonObject]:
    """The tick an RQ worker runs: every firing due now, from the tenants' stores on the
    worker's Redis. The worker's own settings (its environment) hold the SMTP login: a
    secret never travels through the queue."""
    from engine.services.stores import store_registry

    settings = Settings()
    stores = store_registry(settings)
    try:
        fired = fire_schedules(args["database_url"], settings, stores.get)
    finally:
        stores.close()
    return [{"key": f.firing.key, "outcome": f.outcome, "error": f.error} for f in fired]
