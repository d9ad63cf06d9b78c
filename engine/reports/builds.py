"""Built reports in the relational database: one row per build, from queued to done or
failed, holding the report as JSON (its figures, as the renderers drew them) and the
files made of it - the workbook, the PDF and the HTML page - so a download, a resend or
an audit months later reads exactly what was built and sent.

Like a settlement run, a build is finished in one transaction (done with every file, or
failed with its reason): a reader never sees half a report. Listing builds leaves the
files in the database; each is read alone when downloaded.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import Date, Engine, Index, LargeBinary, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db.base import Base, UtcDateTime
from engine.db.errors import NotFound
from engine.db.sessions import reading, writing

__all__ = ["FORMATS", "BuildRecord", "BuildStatus", "BuildStore", "ReportBuild"]

# A build id (uuid4 hex), a tenant and a brand (the other areas' sizes), a person.
BUILD_ID, TENANT, BRAND, PERSON, STATE = 64, 64, 64, 200, 16
# The files a done build keeps, by the name a download asks for.
FORMATS: tuple[str, ...] = ("xlsx", "pdf", "html")
Format = Literal["xlsx", "pdf", "html"]


class BuildStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ReportBuild(Base):
    """One report built for a brand and a window (engine/db/migrations 0005 makes it)."""

    __tablename__ = "report_builds"
    __table_args__ = (Index("ix_report_builds_tenant_brand", "tenant", "brand"),)

    id: Mapped[str] = mapped_column(String(BUILD_ID), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(TENANT))
    brand: Mapped[str] = mapped_column(String(BRAND))
    kind: Mapped[str] = mapped_column(String(STATE))  # campaign | monthly
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    lang: Mapped[str] = mapped_column(String(STATE))
    status: Mapped[str] = mapped_column(String(STATE))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(PERSON))
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # A done build: the report (engine/reports/model.py's JSON) and its files.
    report: Mapped[str | None] = mapped_column(Text, nullable=True)
    xlsx: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    html: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


@dataclass(frozen=True)
class BuildRecord:
    """A build without its files; `report` is the parsed report once done."""

    id: str
    tenant: str
    brand: str
    kind: str
    start: date
    end: date
    lang: str
    status: BuildStatus
    created_at: datetime
    created_by: str
    finished_at: datetime | None
    error: str | None
    report: dict[str, Any] | None

    def to_json(self, with_report: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "brand": self.brand,
            "kind": self.kind,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "lang": self.lang,
            "status": self.status.value,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "error": self.error,
        }
        if with_report:
            body["report"] = self.report
        return body


_HEAD = (
    ReportBuild.id,
    ReportBuild.tenant,
    ReportBuild.brand,
    ReportBuild.kind,
    ReportBuild.start,
    ReportBuild.end,
    ReportBuild.lang,
    ReportBuild.status,
    ReportBuild.created_at,
    ReportBuild.created_by,
    ReportBuild.finished_at,
    ReportBuild.error,
)


def _record(row: Any, report: str | None = None) -> BuildRecord:
    return BuildRecord(
        id=row.id,
        tenant=row.tenant,
        brand=row.brand,
        kind=row.kind,
        start=row.start,
        end=row.end,
        lang=row.lang,
        status=BuildStatus(row.status),
        created_at=row.created_at,
        created_by=row.created_by,
        finished_at=row.finished_at,
        error=row.error,
        report=json.loads(report) if report else None,
    )


class BuildStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        return self._engine

    def _read(self) -> AbstractContextManager[Session]:
        return reading(self._engine)

    def _write(self, what: str) -> AbstractContextManager[Session]:
        return writing(self._engine, what)

    def create(
        self,
        tenant: str,
        brand: str,
        kind: str,
        start: date,
        end: date,
        lang: str,
        created_by: str,
    ) -> BuildRecord:
        build_id = uuid.uuid4().hex
        row = ReportBuild(
            id=build_id,
            tenant=tenant,
            brand=brand,
            kind=kind,
            start=start,
            end=end,
            lang=lang,
            status=BuildStatus.QUEUED.value,
            created_at=datetime.now(UTC),
            created_by=created_by,
        )
        with self._write(f"report build of {brand}") as session:
            session.add(row)
        return self.get(tenant, build_id, with_report=False)

    def get(self, tenant: str, build_id: str, with_report: bool = True) -> BuildRecord:
        columns = (*_HEAD, ReportBuild.report) if with_report else _HEAD
        with self._read() as session:
            row = session.execute(
                select(*columns).where(ReportBuild.tenant == tenant, ReportBuild.id == build_id)
            ).one_or_none()
        if row is None:
            raise NotFound("report", build_id)
        return _record(row, row.report if with_report else None)

    def list(
        self, tenant: str, brand: str | None = None, limit: int = 100
    ) -> Sequence[BuildRecord]:
        """The tenant's builds, newest first (of one brand when `brand` is given)."""
        query = select(*_HEAD).where(ReportBuild.tenant == tenant)
        if brand is not None:
            query = query.where(ReportBuild.brand == brand)
        query = query.order_by(ReportBuild.created_at.desc(), ReportBuild.id).limit(limit)
        with self._read() as session:
            return [_record(row) for row in session.execute(query)]

    def start(self, tenant: str, build_id: str) -> BuildRecord:
        """Queued -> running; a build already past queued is returned as it is, so a job
        run twice (a worker lost and the job retried) builds once."""
        with self._write(f"report build {build_id}") as session:
            session.execute(
                update(ReportBuild)
                .where(
                    ReportBuild.tenant == tenant,
                    ReportBuild.id == build_id,
                    ReportBuild.status == BuildStatus.QUEUED.value,
                )
                .values(status=BuildStatus.RUNNING.value)
            )
        return self.get(tenant, build_id, with_report=False)

    def finish(
        self, tenant: str, build_id: str, report: dict[str, Any], files: dict[str, bytes]
    ) -> BuildRecord:
        missing = [name for name in FORMATS if name not in files]
        if missing:
            raise ValueError(f"a done report keeps every file: {', '.join(missing)} missing")
        with self._write(f"report build {build_id}") as session:
            session.execute(
                update(ReportBuild)
                .where(ReportBuild.tenant == tenant, ReportBuild.id == build_id)
                .values(
                    status=BuildStatus.DONE.value,
                    finished_at=datetime.now(UTC),
                    report=json.dumps(report, sort_keys=True, ensure_ascii=False),
                    **{name: files[name] for name in FORMATS},
                )
            )
        return self.get(tenant, build_id)

    def fail(self, tenant: str, build_id: str, error: str) -> BuildRecord:
        with self._write(f"report build {build_id}") as session:
            session.execute(
                update(ReportBuild)
                .where(ReportBuild.tenant == tenant, ReportBuild.id == build_id)
                .values(status=BuildStatus.FAILED.value, finished_at=datetime.now(UTC), error=error)
            )
        return self.get(tenant, build_id, with_report=False)

    def file(self, tenant: str, build_id: str, name: Format) -> bytes | None:
        """One file of a build; None while the build is not done."""
        column = getattr(ReportBuild, name)
        with self._read() as session:
            row = session.execute(
                select(column).where(ReportBuild.tenant == tenant, ReportBuild.id == build_id)
            ).one_or_none()
        if row is None:
            raise NotFound("report", build_id)
        data: bytes | None = row[0]
        return data
