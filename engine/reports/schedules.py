"""When each brand's report is due, and firing it exactly once.

A schedule is one of three rules: after a campaign window ends (the day after its last
day, China time, the stores' calendar), monthly on day N for the month before, or on
demand (once, at the next tick). `due_firings(now)` lists every report due and not yet
taken, each with its window and its idempotency key - tenant, brand, kind, window - so
two schedules of the same report share one key.

`fire_due(now, run)` claims each due firing by inserting its key in report_firings (a
primary key: of two workers due at the same moment, one insert wins and the other is
told the key is taken) and runs the claimed ones one after another; so several reports
due at once are all sent - a schedulers' known failure is keeping one and dropping the
rest - and each exactly once. A claim whose worker died (no finish within the lease) may
be taken over; the delivery log then keeps the new run from sending again to any target
the first one reached.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, delete, select, update

from engine.core.errors import InputError, Issue
from engine.db.errors import Conflict, NotFound
from engine.db.sessions import reading, writing
from engine.reports.delivery.log import Clock, utc_now
from engine.reports.model import LANGS
from engine.reports.recipients import REPORT_KINDS
from engine.reports.tables import ReportFiring, ReportSchedule

__all__ = [
    "CHINA",
    "RULES",
    "Fired",
    "Firing",
    "FiringRecord",
    "Schedule",
    "ScheduleStore",
    "fire_due",
    "firing_key",
    "next_firing",
]

CHINA = timezone(timedelta(hours=8), "China")  # the stores' calendar: days end at 24:00 here
RULES: tuple[str, ...] = ("after_window", "monthly", "on_demand")
# A monthly schedule's day: 1 to 28, so every month has it.
LAST_DAY = 28
# A monthly schedule catches up at most this many missed months (a server down since).
CATCH_UP_MONTHS = 12
# A claimed firing not finished after this long is taken to have lost its worker. Above
# the job timeout (settings.job_timeout_s), so a slow run is never taken for a dead one.
LEASE = timedelta(hours=2)
_SOURCE = "schedule"


@dataclass(frozen=True)
class Schedule:
    id: int
    tenant: str
    brand: str
    kind: str
    rule: str
    start: date | None
    end: date | None
    day: int | None
    lang: str
    label: str | None
    active: bool
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "brand": self.brand,
            "kind": self.kind,
            "rule": self.rule,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "day": self.day,
            "lang": self.lang,
            "label": self.label,
            "active": self.active,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class Firing:
    """One report due: build it for `brand` over `start`..`end` (both included, as of
    the window's end) in `lang`, and deliver it under `key`."""

    key: str
    tenant: str
    brand: str
    kind: str
    start: date
    end: date
    lang: str
    label: str | None
    schedule_id: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "brand": self.brand,
            "kind": self.kind,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "lang": self.lang,
            "label": self.label,
            "schedule_id": self.schedule_id,
        }


@dataclass(frozen=True)
class FiringRecord:
    """A claimed firing as stored: who took it, when it finished and how."""

    key: str
    brand: str
    kind: str
    start: date
    end: date
    schedule_id: int | None
    claimed_at: datetime
    claimed_by: str
    finished_at: datetime | None
    outcome: str | None
    error: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "brand": self.brand,
            "kind": self.kind,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "schedule_id": self.schedule_id,
            "claimed_at": self.claimed_at.isoformat(),
            "claimed_by": self.claimed_by,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "outcome": self.outcome,
            "error": self.error,
        }


@dataclass(frozen=True)
class Fired:
    """A firing this call ran, and how it ended: the run's outcome (sent, partial,
    failed) or failed with the error the run raised."""

    firing: Firing
    outcome: str
    error: str | None = None


def firing_key(
    tenant: str, brand: str, kind: str, start: date, end: date, schedule_id: int | None = None
) -> str:
    """The idempotency key of a brand's report over a window; an on-demand schedule's
    firing carries its id too (asking again is a new report, sent once more)."""
    key = f"{tenant}/{brand}/{kind}/{start.isoformat()}..{end.isoformat()}"
    return key if schedule_id is None else f"{key}/demand-{schedule_id}"


def worker_name() -> str:
    """host:pid:thread, so a claim says which process and thread took it."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


class ScheduleStore:
    def __init__(self, engine: Engine, clock: Clock = utc_now) -> None:
        self.engine = engine
        self._clock = clock

    # --- schedules -----------------------------------------------------------------

    def add(
        self,
        tenant: str,
        brand: str,
        rule: str,
        *,
        kind: str | None = None,
        start: date | None = None,
        end: date | None = None,
        day: int | None = None,
        lang: str = "zh",
        label: str | None = None,
    ) -> Schedule:
        """Store a schedule; InputError naming every field at fault. `kind` defaults to
        the rule's (campaign after a window, monthly each month)."""
        kind = kind or ("monthly" if rule == "monthly" else "campaign")
        _check(rule, kind, start, end, day, lang)
        row = ReportSchedule(
            tenant=tenant,
            brand=brand,
            kind=kind,
            rule=rule,
            start=start if rule != "monthly" else None,
            end=end if rule != "monthly" else None,
            day=day if rule == "monthly" else None,
            lang=lang,
            label=label,
            active=True,
            created_at=self._clock(),
        )
        with writing(self.engine, f"a schedule of brand {brand}") as session:
            session.add(row)
            session.flush()
            return _schedule(row)

    def schedules(self, tenant: str, brand: str | None = None) -> list[Schedule]:
        query = select(ReportSchedule).where(ReportSchedule.tenant == tenant)
        if brand is not None:
            query = query.where(ReportSchedule.brand == brand)
        with reading(self.engine) as session:
            return [_schedule(r) for r in session.scalars(query.order_by(ReportSchedule.id))]

    def get(self, tenant: str, schedule_id: int) -> Schedule:
        with reading(self.engine) as session:
            return _schedule(_owned(session.get(ReportSchedule, schedule_id), tenant, schedule_id))

    def set_active(self, tenant: str, schedule_id: int, active: bool) -> Schedule:
        """Pause (False) or resume a schedule; a paused one fires nothing."""
        with writing(self.engine, f"schedule {schedule_id}") as session:
            row = _owned(session.get(ReportSchedule, schedule_id), tenant, schedule_id)
            row.active = active
            return _schedule(row)

    def remove(self, tenant: str, schedule_id: int) -> None:
        """Forget a schedule; its firings and deliveries stay on record."""
        with writing(self.engine, f"schedule {schedule_id}") as session:
            session.delete(_owned(session.get(ReportSchedule, schedule_id), tenant, schedule_id))

    # --- firings -------------------------------------------------------------------

    def due_firings(self, now: datetime) -> list[Firing]:
        """Every report due at `now`, over all tenants, not yet claimed (or claimed by a
        worker that has been silent longer than the lease), each key once."""
        today = now.astimezone(CHINA).date()
        with reading(self.engine) as session:
            schedules = [
                _schedule(row)
                for row in session.scalars(
                    select(ReportSchedule)
                    .where(ReportSchedule.active.is_(True))
                    .order_by(ReportSchedule.id)
                )
            ]
        wanted: dict[str, Firing] = {}
        for schedule in schedules:
            for firing in _firings(schedule, today):
                wanted.setdefault(firing.key, firing)
        if not wanted:
            return []
        taken = self._taken(list(wanted), now)
        return [firing for key, firing in wanted.items() if key not in taken]

    def claim(self, firing: Firing, now: datetime, worker: str) -> bool:
        """Take `firing` for `worker`: True if this call took it, False if another has
        it (or it is finished). Safe against any number of concurrent claimers."""
        # Stamped with the time of the claim, not of the tick that found it due: the
        # last of many reports due at once is claimed long after the tick, and must not
        # look stale - open to a takeover - as soon as it is taken.
        now = max(now, self._clock())
        row = ReportFiring(
            key=firing.key,
            tenant=firing.tenant,
            brand=firing.brand,
            kind=firing.kind,
            start=firing.start,
            end=firing.end,
            schedule_id=firing.schedule_id,
            claimed_at=now,
            claimed_by=worker,
        )
        try:
            with writing(self.engine, f"report firing {firing.key}") as session:
                session.add(row)
            return True
        except Conflict:
            pass
        # Taken already: take it over only if its worker has been silent past the lease
        # (one UPDATE, so of two workers taking over at once, one does).
        with writing(self.engine, f"report firing {firing.key}") as session:
            result = session.execute(
                update(ReportFiring)
                .where(
                    ReportFiring.key == firing.key,
                    ReportFiring.finished_at.is_(None),
                    ReportFiring.claimed_at < now - LEASE,
                )
                .values(claimed_at=now, claimed_by=worker)
            )
            return bool(getattr(result, "rowcount", 0) == 1)

    def finish(self, key: str, outcome: str, error: str | None = None) -> None:
        with writing(self.engine, f"report firing {key}") as session:
            session.execute(
                update(ReportFiring)
                .where(ReportFiring.key == key)
                .values(finished_at=self._clock(), outcome=outcome, error=error)
            )

    def release(self, tenant: str, key: str) -> None:
        """Make a finished firing due again (after its failure was fixed: a mail server
        back, a recipient corrected). Targets it reached are not sent to again."""
        with writing(self.engine, f"report firing {key}") as session:
            done = session.execute(
                delete(ReportFiring).where(
                    ReportFiring.tenant == tenant,
                    ReportFiring.key == key,
                    ReportFiring.finished_at.is_not(None),
                )
            )
            if not getattr(done, "rowcount", 0):
                raise NotFound("finished report firing", key)

    def firings(self, tenant: str, brand: str | None = None) -> list[FiringRecord]:
        """A tenant's claimed firings, newest first."""
        query = select(ReportFiring).where(ReportFiring.tenant == tenant)
        if brand is not None:
            query = query.where(ReportFiring.brand == brand)
        query = query.order_by(ReportFiring.claimed_at.desc(), ReportFiring.key)
        with reading(self.engine) as session:
            return [_firing_record(row) for row in session.scalars(query)]

    def _taken(self, keys: list[str], now: datetime) -> set[str]:
        taken: set[str] = set()
        with reading(self.engine) as session:
            for start in range(0, len(keys), 500):  # IN lists of bounded length
                rows = session.execute(
                    select(
                        ReportFiring.key, ReportFiring.finished_at, ReportFiring.claimed_at
                    ).where(ReportFiring.key.in_(keys[start : start + 500]))
                )
                for key, finished_at, claimed_at in rows:
                    if finished_at is not None or claimed_at >= now - LEASE:
                        taken.add(key)
        return taken


def fire_due(
    store: ScheduleStore,
    now: datetime,
    run: Callable[[Firing], str],
    worker: str | None = None,
) -> list[Fired]:
    """Claim every firing due at `now` and run each one this call claimed; `run` builds
    and delivers the report and returns its outcome (sent, partial, failed). A run that
    raises is finished as failed with its error, and the next firing still runs."""
    worker = worker or worker_name()
    fired: list[Fired] = []
    for firing in store.due_firings(now):
        if not store.claim(firing, now, worker):
            continue
        try:
            outcome, error = run(firing), None
        except Exception as raised:  # one report's failure must not stop the others
            outcome, error = "failed", f"{type(raised).__name__}: {raised}"
        store.finish(firing.key, outcome, error)
        fired.append(Fired(firing, outcome, error))
    return fired


def _firings(schedule: Schedule, today: date) -> list[Firing]:
    """The firings of a schedule due on `today` (China time), before checking claims."""
    if schedule.rule == "monthly":
        assert schedule.day is not None
        return [
            _firing(schedule, start, end)
            for start, end in _months_due(schedule.day, schedule.created_at, today)
        ]
    assert schedule.start is not None and schedule.end is not None
    if schedule.rule == "after_window" and today <= schedule.end:
        return []  # the window has not ended: its last day is not over in China
    demand = schedule.id if schedule.rule == "on_demand" else None
    return [_firing(schedule, schedule.start, schedule.end, demand)]


def _months_due(day: int, created_at: datetime, today: date) -> list[tuple[date, date]]:
    """The months whose report, sent on `day` of the month after, is due by `today` and
    was not due before the schedule existed; at most CATCH_UP_MONTHS, oldest first."""
    created = created_at.astimezone(CHINA).date()
    months: list[tuple[date, date]] = []
    send_month = today.replace(day=1)
    for _ in range(CATCH_UP_MONTHS):
        send_on = send_month.replace(day=day)
        if send_on < created:
            break
        report_end = send_month - timedelta(days=1)
        if send_on <= today:
            months.append((report_end.replace(day=1), report_end))
        send_month = report_end.replace(day=1)
    return months[::-1]


def _firing(schedule: Schedule, start: date, end: date, demand: int | None = None) -> Firing:
    return Firing(
        key=firing_key(schedule.tenant, schedule.brand, schedule.kind, start, end, demand),
        tenant=schedule.tenant,
        brand=schedule.brand,
        kind=schedule.kind,
        start=start,
        end=end,
        lang=schedule.lang,
        label=schedule.label,
        schedule_id=schedule.id,
    )


def _check(
    rule: str, kind: str, start: date | None, end: date | None, day: int | None, lang: str
) -> None:
    issues: list[Issue] = []
    if rule not in RULES:
        issues.append(Issue("rule", f"unknown rule {rule!r} (one of {', '.join(RULES)})"))
    if kind not in REPORT_KINDS:
        issues.append(Issue("kind", f"unknown kind {kind!r} (one of {', '.join(REPORT_KINDS)})"))
    if lang not in LANGS:
        issues.append(Issue("lang", f"unknown language {lang!r} (one of {', '.join(LANGS)})"))
    if rule == "monthly":
        if day is None or not 1 <= day <= LAST_DAY:
            issues.append(Issue("day", f"a monthly schedule's day is 1 to {LAST_DAY}, not {day}"))
    elif rule in RULES:
        if start is None:
            issues.append(Issue("start", f"a schedule {rule} needs its window's first day"))
        if end is None:
            issues.append(Issue("end", f"a schedule {rule} needs its window's last day"))
        if start is not None and end is not None and start > end:
            issues.append(Issue("end", f"the window ends ({end}) before it starts ({start})"))
    if issues:
        raise InputError(issues, _SOURCE)


def _owned(row: ReportSchedule | None, tenant: str, schedule_id: int) -> ReportSchedule:
    if row is None or row.tenant != tenant:
        raise NotFound("schedule", str(schedule_id))
    return row


def _schedule(row: ReportSchedule) -> Schedule:
    return Schedule(
        id=row.id,
        tenant=row.tenant,
        brand=row.brand,
        kind=row.kind,
        rule=row.rule,
        start=row.start,
        end=row.end,
        day=row.day,
        lang=row.lang,
        label=row.label,
        active=row.active,
        created_at=row.created_at,
    )


def _firing_record(row: ReportFiring) -> FiringRecord:
    return FiringRecord(
        key=row.key,
        brand=row.brand,
        kind=row.kind,
        start=row.start,
        end=row.end,
        schedule_id=row.schedule_id,
        claimed_at=row.claimed_at,
        claimed_by=row.claimed_by,
        finished_at=row.finished_at,
        outcome=row.outcome,
        error=row.error,
    )


def _midnight(day: date) -> datetime:
    """The start of `day` in China, when a report due that day comes due."""
    return datetime.combine(day, time(), CHINA)


def next_firing(schedule: Schedule, now: datetime, claimed: Collection[str]) -> datetime | None:
    """When `schedule` fires next: `now` when a report of it is due and not yet claimed
    (the next tick takes it), else the start (China time) of the day one comes due; None
    when none will (paused, or its one window's report claimed). `claimed` holds the
    keys of the tenant's claimed firings (ScheduleStore.firings).

    The rules of `_firings` and `_months_due`, read forward."""
    if not schedule.active:
        return None
    today = now.astimezone(CHINA).date()
    if schedule.rule == "monthly":
        assert schedule.day is not None
        this_month = today.replace(day=schedule.day)
        if this_month > today:  # ahead: last month's sending is the last one due
            last_sent = (today.replace(day=1) - timedelta(days=1)).replace(day=schedule.day)
            upcoming = this_month
        else:
            last_sent = this_month
            upcoming = (today.replace(day=28) + timedelta(days=4)).replace(day=schedule.day)
        # Due now if the last sending's report (of the month before it) is not yet
        # claimed - unless the schedule did not exist by that day.
        report_end = last_sent.replace(day=1) - timedelta(days=1)
        key = firing_key(
            schedule.tenant, schedule.brand, schedule.kind, report_end.replace(day=1), report_end
        )
        created = schedule.created_at.astimezone(CHINA).date()
        if last_sent >= created and key not in claimed:
            return now
        return _midnight(upcoming)
    assert schedule.start is not None and schedule.end is not None
    demand = schedule.id if schedule.rule == "on_demand" else None
    key = firing_key(
        schedule.tenant, schedule.brand, schedule.kind, schedule.start, schedule.end, demand
    )
    if key in claimed:
        return None
    if schedule.rule == "on_demand":
        return now
    return max(now, _midnight(schedule.end + timedelta(days=1)))
