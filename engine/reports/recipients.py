"""Who gets each brand's reports, stored with the tenant: a mail address or a chat
group's robot, for one report kind or for all. A recipient is checked when it is stored
(an address that is not one, a webhook without its token: refused, naming it), so a
schedule never finds out at send time that it had nobody to send to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from engine.db.errors import Conflict, NotFound
from engine.db.sessions import reading, writing
from engine.reports.delivery.chat import check_webhook
from engine.reports.delivery.errors import BadRecipient
from engine.reports.delivery.log import Clock, utc_now
from engine.reports.delivery.mail import check_address
from engine.reports.delivery.message import CHANNELS, Channel, Target
from engine.reports.tables import ReportRecipient

__all__ = ["KINDS", "REPORT_KINDS", "Recipient", "RecipientStore", "check_target"]

REPORT_KINDS: tuple[str, ...] = ("campaign", "monthly")
KINDS: tuple[str, ...] = (*REPORT_KINDS, "all")  # a recipient's: one kind, or every kind


@dataclass(frozen=True)
class Recipient:
    id: int
    tenant: str
    brand: str
    kind: str
    target: Target
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        """As the API shows it: a robot's token cut, its signing secret only said."""
        return {
            "id": self.id,
            "brand": self.brand,
            "kind": self.kind,
            "channel": self.target.channel,
            "target": self.target.shown,
            "signed": self.target.secret is not None,
            "created_at": self.created_at.isoformat(),
        }


def check_target(channel: str, address: str, secret: str | None = None) -> Target:
    """The target, if it is one; BadRecipient naming the field at fault if not."""
    if channel not in CHANNELS:
        raise BadRecipient("channel", channel, f"is not a channel ({', '.join(CHANNELS)})")
    if channel == "mail":
        local, _, domain = check_address(address.strip()).rpartition("@")
        if secret is not None:
            raise BadRecipient("secret", "***", "is for DingTalk robots only")
        # Domains are case-blind: ceo@Brand.Example is the same mailbox as ceo@brand.example
        # (the local part is the receiving server's business, kept as given).
        return Target("mail", f"{local}@{domain.lower()}")
    check_webhook(channel, address)
    if secret is not None and channel != "dingtalk":
        raise BadRecipient("secret", "***", "is for DingTalk robots only")
    known: Channel = "wecom" if channel == "wecom" else "dingtalk"
    return Target(known, address, secret or None)


class RecipientStore:
    def __init__(self, engine: Engine, clock: Clock = utc_now) -> None:
        self.engine = engine
        self._clock = clock

    def add(
        self,
        tenant: str,
        brand: str,
        channel: str,
        address: str,
        kind: str = "all",
        secret: str | None = None,
    ) -> Recipient:
        """Store a recipient; BadRecipient for one that is not, Conflict for one stored
        already (same brand, kind, channel and target)."""
        if kind not in KINDS:
            raise BadRecipient("kind", kind, f"is not a report kind ({', '.join(KINDS)})")
        target = check_target(channel, address, secret)
        if self._find(tenant, brand, kind, target) is not None:
            raise Conflict(f"{target.shown} already gets brand {brand}'s {kind} reports")
        row = ReportRecipient(
            tenant=tenant,
            brand=brand,
            kind=kind,
            channel=target.channel,
            target=target.address,
            secret=target.secret,
            created_at=self._clock(),
        )
        with writing(self.engine, f"recipient {target.shown} of brand {brand}") as session:
            session.add(row)
            session.flush()
            return _recipient(row)

    def recipients(self, tenant: str, brand: str | None = None) -> list[Recipient]:
        query = select(ReportRecipient).where(ReportRecipient.tenant == tenant)
        if brand is not None:
            query = query.where(ReportRecipient.brand == brand)
        with reading(self.engine) as session:
            rows = session.scalars(query.order_by(ReportRecipient.id))
            return [_recipient(row) for row in rows]

    def get(self, tenant: str, recipient_id: int) -> Recipient:
        with reading(self.engine) as session:
            row = session.get(ReportRecipient, recipient_id)
            if row is None or row.tenant != tenant:
                raise NotFound("recipient", str(recipient_id))
            return _recipient(row)

    def remove(self, tenant: str, recipient_id: int) -> None:
        """Forget a recipient (NotFound if the tenant has none of that id). Its past
        deliveries stay in the log."""
        with writing(self.engine, f"recipient {recipient_id}") as session:
            row = session.get(ReportRecipient, recipient_id)
            if row is None or row.tenant != tenant:
                raise NotFound("recipient", str(recipient_id))
            session.delete(row)

    def targets(self, tenant: str, brand: str, kind: str) -> list[Target]:
        """Where a brand's report of `kind` goes: its recipients of that kind and of all
        kinds, each target once."""
        query = (
            select(ReportRecipient)
            .where(
                ReportRecipient.tenant == tenant,
                ReportRecipient.brand == brand,
                ReportRecipient.kind.in_((kind, "all")),
            )
            .order_by(ReportRecipient.id)
        )
        found: dict[str, Target] = {}
        with reading(self.engine) as session:
            for row in session.scalars(query):
                target = _recipient(row).target
                found.setdefault(target.hash, target)
        return list(found.values())

    def _find(self, tenant: str, brand: str, kind: str, target: Target) -> int | None:
        query = select(ReportRecipient.id).where(
            ReportRecipient.tenant == tenant,
            ReportRecipient.brand == brand,
            ReportRecipient.kind == kind,
            ReportRecipient.channel == target.channel,
            ReportRecipient.target == target.address,
        )
        with reading(self.engine) as session:
            return session.scalar(query)


def _recipient(row: ReportRecipient) -> Recipient:
    # Checked when stored; a check made stricter since must not hide what is there.
    channel: Channel = row.channel  # type: ignore[assignment]
    target = Target(channel, row.target, row.secret)
    return Recipient(row.id, row.tenant, row.brand, row.kind, target, row.created_at)
