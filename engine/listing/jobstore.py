"""Listing jobs and their items in the relational database.

A job's items are written whole when the job is made (one transaction), and each item's
state moves on from there. The runner writes its items' changes in batches (a few
transactions a second, not one per call): what a killed run had not written yet is sent
again by the next run, and that is safe because a retried item is looked up on the
platform before anything is created (engine/listing/batch.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from dataclasses import field as default_of
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from engine.db.errors import Conflict, NotFound
from engine.db.sessions import reading, writing
from engine.listing.tables import ListingItem, ListingJob, ListingStock

__all__ = [
    "OPEN",
    "TERMINAL",
    "ItemRecord",
    "ItemState",
    "ItemUpdate",
    "JobRecord",
    "JobStatus",
    "ListingStore",
    "NewItem",
]


class ItemState(StrEnum):
    PENDING = "pending"  # not sent yet, or waiting for a retry
    SENT = "sent"  # a call is (or was, when its run died) under way
    ACCEPTED = "accepted"  # the platform took it; review not started
    IN_REVIEW = "in_review"
    ON_SALE = "on_sale"
    REJECTED = "rejected"  # the platform refused it or its review did: needs a fix
    FAILED = "failed"  # still failing after every retry, or the shop cannot be reached
    REFUSED = "refused"  # never sent: our own checks refused it (schema, price floor, size)
    UPDATED = "updated"  # a stock or price update the platform took


# An item in one of these is done; the rest are worked on by a run.
TERMINAL = frozenset(
    {ItemState.ON_SALE, ItemState.REJECTED, ItemState.FAILED, ItemState.REFUSED, ItemState.UPDATED}
)
OPEN = frozenset(ItemState) - TERMINAL


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"  # every item done (some may be rejected or failed: see counts)
    CANCELLED = "cancelled"  # stopped on request; `resume` goes on with the open items
    INTERRUPTED = "interrupted"  # its run died or stopped at a time limit; resumable


@dataclass(frozen=True)
class NewItem:
    shop: str
    outer_id: str
    platform: str
    intent: dict[str, Any]
    # Refused before sending: the field and why (state REFUSED), else None.
    refused_field: str | None = None
    refused_reason: str | None = None


@dataclass(frozen=True)
class ItemRecord:
    shop: str
    outer_id: str
    platform: str
    state: ItemState
    attempts: int
    item_id: str | None
    created: bool | None
    error: str | None
    platform_code: str | None
    reason: str | None
    field: str | None
    intent: dict[str, Any]
    updated_at: datetime

    def to_json(self, with_intent: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "shop": self.shop,
            "outer_id": self.outer_id,
            "platform": self.platform,
            "state": self.state.value,
            "attempts": self.attempts,
            "item_id": self.item_id,
            "created": self.created,
            "error": self.error,
            "platform_code": self.platform_code,
            "reason": self.reason,
            "field": self.field,
            "updated_at": self.updated_at.isoformat(),
        }
        if with_intent:
            body["intent"] = self.intent
        return body


@dataclass
class ItemUpdate:
    """A change of one item's state, written with others in one transaction."""

    shop: str
    outer_id: str
    state: ItemState
    attempts: int
    item_id: str | None = None
    created: bool | None = None
    error: str | None = None
    platform_code: str | None = None
    reason: str | None = None
    field: str | None = None
    at: datetime = default_of(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class JobRecord:
    tenant: str
    id: str
    kind: str
    brand: str
    status: JobStatus
    cancel_requested: bool
    created_at: datetime
    created_by: str
    started_at: datetime | None
    ended_at: datetime | None
    runs: int
    options: dict[str, Any]
    summary: dict[str, Any]
    seconds: float
    calls: int
    beat_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        def when(value: datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "id": self.id,
            "kind": self.kind,
            "brand": self.brand,
            "status": self.status.value,
            "cancel_requested": self.cancel_requested,
            "created_at": when(self.created_at),
            "created_by": self.created_by,
            "started_at": when(self.started_at),
            "ended_at": when(self.ended_at),
            "runs": self.runs,
            "options": self.options,
            "summary": self.summary,
            "seconds": round(self.seconds, 3),
            "calls": self.calls,
        }


def _job(row: ListingJob) -> JobRecord:
    return JobRecord(
        tenant=row.tenant,
        id=row.id,
        kind=row.kind,
        brand=row.brand,
        status=JobStatus(row.status),
        cancel_requested=row.cancel_requested,
        created_at=row.created_at,
        created_by=row.created_by,
        started_at=row.started_at,
        ended_at=row.ended_at,
        runs=row.runs,
        options=row.options,
        summary=row.summary,
        seconds=row.seconds,
        calls=row.calls,
        beat_at=row.beat_at,
    )


def _item(row: ListingItem) -> ItemRecord:
    return ItemRecord(
        shop=row.shop,
        outer_id=row.outer_id,
        platform=row.platform,
        state=ItemState(row.state),
        attempts=row.attempts,
        item_id=row.item_id,
        created=row.created,
        error=row.error,
        platform_code=row.platform_code,
        reason=row.reason,
        field=row.field,
        intent=row.intent,
        updated_at=row.updated_at,
    )


# Rows per INSERT statement when a job is made: well under SQLite's 32,766 parameters.
_INSERT_CHUNK = 500


class ListingStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        return self._engine

    def dispose(self) -> None:
        self._engine.dispose()

    # --- jobs ----------------------------------------------------------------------------

    def create_job(
        self,
        tenant: str,
        job_id: str,
        *,
        kind: str,
        brand: str,
        created_by: str,
        options: Mapping[str, Any],
        items: Sequence[NewItem],
    ) -> JobRecord:
        """The job and all its items, in one transaction."""
        now = datetime.now(UTC)
        rows = [
            {
                "tenant": tenant,
                "job_id": job_id,
                "shop": item.shop,
                "outer_id": item.outer_id,
                "platform": item.platform,
                "state": (ItemState.REFUSED if item.refused_reason else ItemState.PENDING).value,
                "attempts": 0,
                "item_id": None,
                "created": None,
                "error": "refused" if item.refused_reason else None,
                "platform_code": None,
                "reason": item.refused_reason,
                "field": item.refused_field,
                "intent": item.intent,
                "updated_at": now,
            }
            for item in items
        ]
        job = ListingJob(
            tenant=tenant,
            id=job_id,
            kind=kind,
            brand=brand,
            status=JobStatus.QUEUED.value,
            cancel_requested=False,
            created_at=now,
            created_by=created_by,
            started_at=None,
            ended_at=None,
            runs=0,
            options=dict(options),
            summary={},
            seconds=0.0,
            calls=0,
            beat_at=None,
        )
        with self._write(f"listing job {job_id}") as session:
            session.add(job)
            session.flush()
            for start in range(0, len(rows), _INSERT_CHUNK):
                session.execute(insert(ListingItem), rows[start : start + _INSERT_CHUNK])
        return self.job(tenant, job_id)

    def job(self, tenant: str, job_id: str) -> JobRecord:
        with self._read() as session:
            row = session.get(ListingJob, (tenant, job_id))
            if row is None:
                raise NotFound("listing job", job_id)
            return _job(row)

    def jobs(self, tenant: str, brand: str | None = None, limit: int = 100) -> list[JobRecord]:
        """The tenant's jobs, newest first."""
        query = select(ListingJob).where(ListingJob.tenant == tenant)
        if brand is not None:
            query = query.where(ListingJob.brand == brand)
        query = query.order_by(ListingJob.created_at.desc(), ListingJob.id).limit(limit)
        with self._read() as session:
            return [_job(row) for row in session.scalars(query)]

    def set_job(self, tenant: str, job_id: str, **values: Any) -> None:
        """Set a job's columns (status, started_at, summary...)."""
        if "status" in values:
            values["status"] = JobStatus(values["status"]).value
        with self._write(f"listing job {job_id}") as session:
            done = session.execute(
                update(ListingJob)
                .where(ListingJob.tenant == tenant, ListingJob.id == job_id)
                .values(**values)
            )
            if done.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound("listing job", job_id)

    def add_work(self, tenant: str, job_id: str, calls: int, seconds: float) -> None:
        """Count a run's calls and seconds as it goes, so a run that dies has counted."""
        with self._write(f"listing job {job_id}") as session:
            session.execute(
                update(ListingJob)
                .where(ListingJob.tenant == tenant, ListingJob.id == job_id)
                .values(
                    calls=ListingJob.calls + calls,
                    seconds=ListingJob.seconds + seconds,
                    beat_at=datetime.now(UTC),
                )
            )

    def start_run(self, tenant: str, job_id: str) -> JobRecord:
        """(The record returned is the job as it was before this run: its `beat_at` is
        the last sign of life of the run before.)"""
        """A run begins: the job is running, one more run counted. A cancel asked for
        stays (the run ends at once); `clear_cancel` is a resume's first step."""
        with self._write(f"listing job {job_id}") as session:
            row = session.get(ListingJob, (tenant, job_id))
            if row is None:
                raise NotFound("listing job", job_id)
            row.status = JobStatus.RUNNING.value
            before = _job(row)
            row.runs += 1
            row.ended_at = None
            row.beat_at = datetime.now(UTC)
            if row.started_at is None:
                row.started_at = datetime.now(UTC)
            return replace(_job(row), beat_at=before.beat_at)

    def clear_cancel(self, tenant: str, job_id: str) -> JobRecord:
        """Forget a cancel request: a resume goes on with the open items."""
        with self._write(f"listing job {job_id}") as session:
            row = session.get(ListingJob, (tenant, job_id))
            if row is None:
                raise NotFound("listing job", job_id)
            row.cancel_requested = False
            return _job(row)

    def request_cancel(self, tenant: str, job_id: str) -> JobRecord:
        """Ask a job to stop; a job not running stops at once (its open items stay open)."""
        with self._write(f"listing job {job_id}") as session:
            row = session.get(ListingJob, (tenant, job_id))
            if row is None:
                raise NotFound("listing job", job_id)
            if row.status == JobStatus.FINISHED.value:
                raise Conflict(f"listing job {job_id!r} has finished; nothing to cancel")
            row.cancel_requested = True
            if row.status != JobStatus.RUNNING.value:
                row.status = JobStatus.CANCELLED.value
                row.ended_at = datetime.now(UTC)
            return _job(row)

    def cancel_requested(self, tenant: str, job_id: str) -> bool:
        query = select(ListingJob.cancel_requested).where(
            ListingJob.tenant == tenant, ListingJob.id == job_id
        )
        with self._read() as session:
            return bool(session.scalar(query))

    # --- items ---------------------------------------------------------------------------

    def items(
        self,
        tenant: str,
        job_id: str,
        *,
        states: Iterable[ItemState] | None = None,
        shop: str | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> list[ItemRecord]:
        """The job's items by shop and outer id, optionally of some states or one shop."""
        query = select(ListingItem).where(
            ListingItem.tenant == tenant, ListingItem.job_id == job_id
        )
        if states is not None:
            query = query.where(ListingItem.state.in_([s.value for s in states]))
        if shop is not None:
            query = query.where(ListingItem.shop == shop)
        query = query.order_by(ListingItem.shop, ListingItem.outer_id).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        with self._read() as session:
            return [_item(row) for row in session.scalars(query)]

    def counts(self, tenant: str, job_id: str) -> dict[str, dict[str, int]]:
        """Items per shop and state."""
        query = (
            select(ListingItem.shop, ListingItem.state, func.count())
            .where(ListingItem.tenant == tenant, ListingItem.job_id == job_id)
            .group_by(ListingItem.shop, ListingItem.state)
        )
        found: dict[str, dict[str, int]] = {}
        with self._read() as session:
            for shop, state, count in session.execute(query):
                found.setdefault(shop, {})[state] = count
        return found

    def save_items(self, tenant: str, job_id: str, updates: Sequence[ItemUpdate]) -> None:
        """Write item changes in one transaction (the last change of an item wins)."""
        if not updates:
            return
        latest = {(u.shop, u.outer_id): u for u in updates}
        rows = [
            {
                "b_shop": u.shop,
                "b_outer_id": u.outer_id,
                "state": u.state.value,
                "attempts": u.attempts,
                "item_id": u.item_id,
                "created": u.created,
                "error": u.error,
                "platform_code": u.platform_code,
                "reason": u.reason,
                "field": u.field,
                "updated_at": u.at,
            }
            for u in latest.values()
        ]
        statement = (
            update(ListingItem)
            .where(
                ListingItem.tenant == tenant,
                ListingItem.job_id == job_id,
                ListingItem.shop == bindparam("b_shop"),
                ListingItem.outer_id == bindparam("b_outer_id"),
            )
            .values(
                {
                    name: bindparam(name)
                    for name in (
                        "state",
                        "attempts",
                        "item_id",
                        "created",
                        "error",
                        "platform_code",
                        "reason",
                        "field",
                        "updated_at",
                    )
                }
            )
        )
        with self._write(f"listing job {job_id}") as session:
            session.connection().execute(statement, rows)

    # --- what each shop was sent ---------------------------------------------------------

    def last_sent(self, tenant: str, shops: Iterable[str]) -> dict[tuple[str, str], int]:
        """(shop, SKU code) -> the units last sent to that shop."""
        wanted = list(shops)
        query = select(ListingStock.shop, ListingStock.sku_code, ListingStock.units).where(
            ListingStock.tenant == tenant, ListingStock.shop.in_(wanted)
        )
        with self._read() as session:
            return {(shop, sku): units for shop, sku, units in session.execute(query)}

    def record_sent(self, tenant: str, job_id: str, sent: Mapping[tuple[str, str], int]) -> None:
        """Remember what each shop now holds of each SKU (after the platform took it)."""
        if not sent:
            return
        now = datetime.now(UTC)
        with self._write(f"listing job {job_id}") as session:
            keys = list(sent)
            for start in range(0, len(keys), _INSERT_CHUNK):
                for shop, sku in keys[start : start + _INSERT_CHUNK]:
                    row = session.get(ListingStock, (tenant, shop, sku))
                    if row is None:
                        session.add(
                            ListingStock(
                                tenant=tenant,
                                shop=shop,
                                sku_code=sku,
                                units=sent[shop, sku],
                                job_id=job_id,
                                pushed_at=now,
                            )
                        )
                    else:
                        row.units, row.job_id, row.pushed_at = sent[shop, sku], job_id, now

    # --- transactions ----------------------------------------------------------------

    def _read(self) -> AbstractContextManager[Session]:
        return reading(self._engine)

    def _write(self, what: str) -> AbstractContextManager[Session]:
        return writing(self._engine, what)
