"""The listing tables (engine/db/migrations/versions/0002_listing.py creates them).

A listing job's items are rows, each with its own state, so a job survives the worker
that ran it: a new run reads the rows and goes on from where the old one stopped. What
each shop was last sent of every SKU's stock is kept too, so a stock push sends only
what changed. The pacing table holds the call limiter's state where there is no Redis
(the embedded default), shared by every process on the database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db.base import Base, UtcDateTime

TENANT, CODE, PLATFORM, PERSON, STATE = 64, 64, 32, 200, 16
# A job id (uuid4 hex) and a limiter key (platform, app key hash, shop, method).
JOB_ID, PACE_KEY = 64, 300


class ListingJob(Base):
    """One batch: a listing of products, a stock push or a price update."""

    __tablename__ = "listing_jobs"

    tenant: Mapped[str] = mapped_column(String(TENANT), primary_key=True)
    id: Mapped[str] = mapped_column(String(JOB_ID), primary_key=True)
    kind: Mapped[str] = mapped_column(String(STATE))  # publish | stock | price
    brand: Mapped[str] = mapped_column(String(CODE))
    status: Mapped[str] = mapped_column(String(STATE))
    cancel_requested: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(PERSON))
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # Runs started: a run lost with its worker is followed by another that resumes.
    runs: Mapped[int] = mapped_column(Integer)
    # What was asked (shops, SKUs, plan id) and, at the end, the counts and throughput.
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Seconds spent running and calls made, summed over runs as they go (a killed run's
    # count too): the throughput's numbers.
    seconds: Mapped[float] = mapped_column(Float)
    calls: Mapped[int] = mapped_column(Integer)
    # The last sign of life of a run (its last write): a resume waits from here until
    # any call the run had in flight when it died has landed.
    beat_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class ListingItem(Base):
    """One product (or one product's stock or prices) in one shop."""

    __tablename__ = "listing_items"
    __table_args__ = (
        Index("ix_listing_items_tenant_job_id_state", "tenant", "job_id", "state"),
        # A job's counts per shop and state, read from the index alone.
        Index("ix_listing_items_tenant_job_id_shop_state", "tenant", "job_id", "shop", "state"),
    )

    tenant: Mapped[str] = mapped_column(String(TENANT), primary_key=True)
    job_id: Mapped[str] = mapped_column(String(JOB_ID), primary_key=True)
    shop: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    outer_id: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    platform: Mapped[str] = mapped_column(String(PLATFORM))
    state: Mapped[str] = mapped_column(String(STATE))
    attempts: Mapped[int] = mapped_column(Integer)
    item_id: Mapped[str | None] = mapped_column(String(CODE), nullable=True)
    created: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # Our error code, the platform's, its words or the review's reason, and the field.
    error: Mapped[str | None] = mapped_column(String(STATE * 2), nullable=True)
    platform_code: Mapped[str | None] = mapped_column(String(CODE), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    field: Mapped[str | None] = mapped_column(String(PERSON), nullable=True)
    # What is sent: the platform payload, or SKU code -> units / price.
    intent: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ListingStock(Base):
    """The units a shop was last sent of a SKU (by a stock push or a listing)."""

    __tablename__ = "listing_stock"

    tenant: Mapped[str] = mapped_column(String(TENANT), primary_key=True)
    shop: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    sku_code: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    units: Mapped[int] = mapped_column(Integer)
    job_id: Mapped[str] = mapped_column(String(JOB_ID))
    pushed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ListingPace(Base):
    """The call limiter of one (platform, app key, shop, method) without Redis: the
    theoretical arrival time of the next call (GCRA) and the calls of the current day."""

    __tablename__ = "listing_pace"

    key: Mapped[str] = mapped_column(String(PACE_KEY), primary_key=True)
    tat: Mapped[float] = mapped_column(Float)
    day: Mapped[str] = mapped_column(String(STATE))
    day_calls: Mapped[int] = mapped_column(Integer)
