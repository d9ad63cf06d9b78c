"""The delivery log: every attempt to send a report to a target, one row each, appended
and never changed. It answers two questions: what happened (read by tenant, brand or
key, for the API and the CLI), and has this report already reached this target (so it
is never sent there again, whichever worker asks and however often).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Engine, func, select

from engine.db.sessions import reading, writing
from engine.reports.delivery.message import Target
from engine.reports.tables import ReportDelivery

__all__ = ["Attempt", "Clock", "DeliveryLog", "DeliveryRecord", "Outcome", "utc_now"]

# sent: the server or robot took it; retry: a temporary failure, tried again after a
# wait; failed: a permanent failure, or the last temporary one.
Outcome = Literal["sent", "retry", "failed"]
# The most rows one read returns (a month of daily reports to a dozen targets is ~400).
READ_LIMIT = 1000


@dataclass(frozen=True)
class Attempt:
    """What one try at one target came to: `reason` is the server's reply or the error
    (no secret in it), `code` the SMTP reply code or the robot's HTTP status."""

    outcome: Outcome
    reason: str | None = None
    code: int | None = None


# Called by a sender after each try; the log numbers the attempts.
Record = Callable[[Attempt], None]


@dataclass(frozen=True)
class DeliveryRecord:
    id: int
    tenant: str
    brand: str
    key: str
    channel: str
    target: str
    attempt: int
    at: datetime
    outcome: Outcome
    reason: str | None
    code: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "brand": self.brand,
            "key": self.key,
            "channel": self.channel,
            "target": self.target,
            "attempt": self.attempt,
            "at": self.at.isoformat(),
            "outcome": self.outcome,
            "reason": self.reason,
            "code": self.code,
        }


def utc_now() -> datetime:
    """The clock of the delivery stores (the log, recipients, schedules); tests pass
    their own."""
    return datetime.now(UTC)


Clock = Callable[[], datetime]


class DeliveryLog:
    def __init__(self, engine: Engine, clock: Clock = utc_now) -> None:
        self.engine = engine
        self._clock = clock

    def record(
        self, tenant: str, brand: str, key: str, target: Target, attempt: Attempt
    ) -> DeliveryRecord:
        """Append one attempt; its number is one more than the target's attempts at this
        key so far (a firing resumed after a crash goes on counting)."""
        with writing(self.engine, f"the delivery log of {key}") as session:
            before = session.scalar(
                select(func.count())
                .select_from(ReportDelivery)
                .where(
                    ReportDelivery.tenant == tenant,
                    ReportDelivery.key == key,
                    ReportDelivery.target_hash == target.hash,
                )
            )
            row = ReportDelivery(
                tenant=tenant,
                brand=brand,
                key=key,
                channel=target.channel,
                target=target.shown,
                target_hash=target.hash,
                attempt=int(before or 0) + 1,
                at=self._clock(),
                outcome=attempt.outcome,
                reason=attempt.reason,
                code=attempt.code,
            )
            session.add(row)
            session.flush()
            return _record(row)

    def recorder(self, tenant: str, brand: str, key: str, target: Target) -> Record:
        """The callback a sender calls after each try at `target`."""

        def record(attempt: Attempt) -> None:
            self.record(tenant, brand, key, target, attempt)

        return record

    def sent(self, tenant: str, key: str, target: Target) -> bool:
        """Whether the report of `key` has reached `target` already."""
        with reading(self.engine) as session:
            found = session.scalar(
                select(ReportDelivery.id)
                .where(
                    ReportDelivery.tenant == tenant,
                    ReportDelivery.key == key,
                    ReportDelivery.target_hash == target.hash,
                    ReportDelivery.outcome == "sent",
                )
                .limit(1)
            )
        return found is not None

    def read(
        self,
        tenant: str,
        brand: str | None = None,
        key: str | None = None,
        limit: int = READ_LIMIT,
        *,
        outcome: Outcome | None = None,
    ) -> list[DeliveryRecord]:
        """A tenant's attempts, newest first; only a brand's, one key's or one outcome's."""
        query = select(ReportDelivery).where(ReportDelivery.tenant == tenant)
        if brand is not None:
            query = query.where(ReportDelivery.brand == brand)
        if key is not None:
            query = query.where(ReportDelivery.key == key)
        if outcome is not None:
            query = query.where(ReportDelivery.outcome == outcome)
        query = query.order_by(ReportDelivery.at.desc(), ReportDelivery.id.desc()).limit(limit)
        with reading(self.engine) as session:
            return [_record(row) for row in session.scalars(query)]


def _record(row: ReportDelivery) -> DeliveryRecord:
    outcome: Outcome = row.outcome  # type: ignore[assignment]
    return DeliveryRecord(
        id=row.id,
        tenant=row.tenant,
        brand=row.brand,
        key=row.key,
        channel=row.channel,
        target=row.target,
        attempt=row.attempt,
        at=row.at,
        outcome=outcome,
        reason=row.reason,
        code=row.code,
    )
