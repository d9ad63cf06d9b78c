"""The settlement tables (engine/db/migrations/versions/0003_settlement.py creates them).

A settlement run is one row holding what it was asked (tenant, brand, period, the hash of
its inputs, the run whose pending pool it took) and, once done, everything it produced:
the summary and the bill as JSON text, the workbook, the outcome of every record as one
Parquet file (a month of millions of records is one value, filtered with polars when
read, never millions of rows here) and the pool it holds for the brand's next run. The
files it was given are kept beside it, byte for byte, so a run can be rebuilt. Records
resolved by hand are an append-only trail: each resolution is kept, the latest of a
record is the current one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db.base import Base, UtcDateTime

# A run id (uuid4 hex), a tenant, a brand (engine/listing/tables.py's sizes), a person.
RUN_ID, TENANT, BRAND, PERSON = 64, 64, 64, 200
STATE, PERIOD, ROLE, HASH = 16, 7, 16, 64
# A file name (most file systems: 255 bytes) and a record, `file:line` (a zip's member
# is named `zip/member`, so the longest is two names and a line number).
NAME, RECORD = 255, 600


class SettlementRun(Base):
    """One settlement of a brand's month, from queued to done or failed."""

    __tablename__ = "settlement_runs"
    __table_args__ = (
        Index("ix_settlement_runs_tenant_inputs_hash", "tenant", "inputs_hash"),
        Index("ix_settlement_runs_tenant_brand_period", "tenant", "brand", "period"),
    )

    id: Mapped[str] = mapped_column(String(RUN_ID), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(TENANT))
    brand: Mapped[str] = mapped_column(String(BRAND))
    period: Mapped[str] = mapped_column(String(PERIOD))  # YYYY-MM
    status: Mapped[str] = mapped_column(String(STATE))  # queued | running | done | failed
    inputs_hash: Mapped[str] = mapped_column(String(HASH))
    # The run whose pending pool this one took; None when the brand had none before.
    carry_from: Mapped[str | None] = mapped_column(String(RUN_ID), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(PERSON))
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # A failed run: what stopped it (input: the CLI's exit 2, control: exit 5, internal).
    error_kind: Mapped[str | None] = mapped_column(String(STATE), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # A done run's outputs: JSON text (output.summary_document with the pool, and
    # output.bill_document), the workbook, the outcomes as Parquet, the pool (carry.zip).
    summary: Mapped[str | None] = mapped_column(Text, nullable=True)
    bill: Mapped[str | None] = mapped_column(Text, nullable=True)
    bill_xlsx: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    outcomes: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    carry: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class SettlementInput(Base):
    """One file a run was given, as uploaded."""

    __tablename__ = "settlement_inputs"

    run_id: Mapped[str] = mapped_column(
        String(RUN_ID), ForeignKey("settlement_runs.id"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(ROLE), primary_key=True)  # contract | orders | ...
    position: Mapped[int] = mapped_column(Integer, primary_key=True)  # its place in its role
    name: Mapped[str] = mapped_column(String(NAME))
    sha256: Mapped[str] = mapped_column(String(HASH))
    size: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class SettlementResolution(Base):
    """A record of a run resolved by hand: who, when, why. Never changed nor deleted."""

    __tablename__ = "settlement_resolutions"
    __table_args__ = (Index("ix_settlement_resolutions_run_id_record", "run_id", "record"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(RUN_ID), ForeignKey("settlement_runs.id"))
    record: Mapped[str] = mapped_column(String(RECORD))  # the outcome row's `file:line`
    # The record's outcome when resolved (outcomes joined by commas, were a record ever
    # to have several: a carried record and a new one of the same file name and line).
    outcome: Mapped[str] = mapped_column(String(PERSON))
    note: Mapped[str] = mapped_column(Text)
    resolved_by: Mapped[str] = mapped_column(String(PERSON))  # the caller's key id
    at: Mapped[datetime] = mapped_column(UtcDateTime)
