"""The report delivery tables (engine/db/migrations/versions/0004_reports.py creates them).

Recipients and schedules are what a tenant set up for each brand. A firing is one due
report of one schedule - a brand, a kind, a window - claimed by inserting its key: the
key is unique, so of two workers (or two schedules) due at the same moment one inserts
it and the other learns it is taken; nobody sends it twice. The deliveries are the log,
one row per attempt on one target, appended and never changed.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db.base import Base, UtcDateTime

# A tenant and a brand (engine/listing/tables.py's sizes); a report kind, a channel, a
# schedule rule, an outcome; a language code.
TENANT, BRAND, KIND, CHANNEL, RULE, OUTCOME, LANG = 64, 64, 16, 16, 16, 16, 8
# A mail address (RFC 5321: 254) or a robot's webhook URL with its token; a DingTalk
# signing secret ("SEC" and 64 hex); a firing's key (tenant/brand/kind/start..end/...);
# a campaign's name; a worker's name (host:pid:thread); a sha256 in hex.
TARGET, SECRET, KEY, LABEL, WORKER, HASH = 2000, 200, 255, 200, 200, 64


class ReportRecipient(Base):
    """Who gets a brand's reports of a kind (`all`: every kind) on a channel."""

    __tablename__ = "report_recipients"
    __table_args__ = (
        UniqueConstraint("tenant", "brand", "kind", "channel", "target"),
        Index("ix_report_recipients_tenant_brand", "tenant", "brand"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(TENANT))
    brand: Mapped[str] = mapped_column(String(BRAND))
    kind: Mapped[str] = mapped_column(String(KIND))  # campaign | monthly | all
    channel: Mapped[str] = mapped_column(String(CHANNEL))  # mail | wecom | dingtalk
    target: Mapped[str] = mapped_column(String(TARGET))  # an address or a webhook URL
    # DingTalk's signing secret, when the robot has "sign" security on.
    secret: Mapped[str | None] = mapped_column(String(SECRET), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ReportSchedule(Base):
    """When a brand's report is due: after a campaign window ends (`after_window`, with
    the window), monthly on day `day` for the month before (`monthly`), or once, at the
    next tick (`on_demand`, with the window)."""

    __tablename__ = "report_schedules"
    __table_args__ = (Index("ix_report_schedules_tenant_brand", "tenant", "brand"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(TENANT))
    brand: Mapped[str] = mapped_column(String(BRAND))
    kind: Mapped[str] = mapped_column(String(KIND))  # campaign | monthly
    rule: Mapped[str] = mapped_column(String(RULE))  # after_window | monthly | on_demand
    start: Mapped[date | None] = mapped_column(Date, nullable=True)
    end: Mapped[date | None] = mapped_column(Date, nullable=True)
    day: Mapped[int | None] = mapped_column(Integer, nullable=True)  # monthly: 1..28
    lang: Mapped[str] = mapped_column(String(LANG))  # en | zh
    label: Mapped[str | None] = mapped_column(String(LABEL), nullable=True)  # "Double-11"
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ReportFiring(Base):
    """One due report, claimed by the worker that inserted its key. `finished_at` unset
    past the lease: its worker died, and another may take it over (the log keeps it from
    sending again to a target that already has it)."""

    __tablename__ = "report_firings"
    __table_args__ = (Index("ix_report_firings_tenant_brand", "tenant", "brand"),)

    key: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(TENANT))
    brand: Mapped[str] = mapped_column(String(BRAND))
    kind: Mapped[str] = mapped_column(String(KIND))
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    schedule_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    claimed_by: Mapped[str] = mapped_column(String(WORKER))
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(OUTCOME), nullable=True)  # sent|failed
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class ReportDelivery(Base):
    """One attempt to send one report (its firing's key) to one target. `target` is as
    it may be shown: a mail address, or a webhook URL with its token cut. Never a
    password: `reason` is the server's reply or the error, with any secret removed."""

    __tablename__ = "report_deliveries"
    __table_args__ = (
        Index("ix_report_deliveries_tenant_key", "tenant", "key"),
        Index("ix_report_deliveries_tenant_brand_at", "tenant", "brand", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(TENANT))
    brand: Mapped[str] = mapped_column(String(BRAND))
    key: Mapped[str] = mapped_column(String(KEY))
    channel: Mapped[str] = mapped_column(String(CHANNEL))
    target: Mapped[str] = mapped_column(String(TARGET))
    # sha256 of the channel and the whole target: which robot, though its token is cut.
    target_hash: Mapped[str] = mapped_column(String(HASH))
    attempt: Mapped[int] = mapped_column(Integer)  # 1, 2, ... on this target
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    outcome: Mapped[str] = mapped_column(String(OUTCOME))  # sent | retry | failed
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The SMTP reply code, or the robot's HTTP status; None when nothing answered.
    code: Mapped[int | None] = mapped_column(Integer, nullable=True)
