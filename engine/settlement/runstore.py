"""Settlement runs, their input files, outputs and resolutions in the relational database.

A run is made with all its files in one transaction, and finished - done with every
output, or failed with its error - in one transaction too, so a reader never sees half a
run. Reads of a run's list or status leave the large columns (files, outcomes, workbook,
pool) in the database; each is read alone when asked for.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from engine.db.errors import NotFound
from engine.db.sessions import reading, writing
from engine.settlement.tables import SettlementInput, SettlementResolution, SettlementRun

__all__ = [
    "ROLES",
    "InputRecord",
    "NewInput",
    "Outputs",
    "Resolution",
    "RunRecord",
    "RunStatus",
    "SettlementStore",
]

# The roles of a run's files, in the order its inputs hash lists them.
ROLES: tuple[str, ...] = ("contract", "orders", "payments", "warehouse")
Output = Literal["bill_xlsx", "outcomes", "carry"]


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class NewInput:
    """A file given to a run: its role, its place among the files of that role."""

    role: str
    position: int
    name: str
    sha256: str
    data: bytes


@dataclass(frozen=True)
class InputRecord:
    role: str
    position: int
    name: str
    sha256: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "position": self.position,
            "name": self.name,
            "sha256": self.sha256,
            "size": self.size,
        }


@dataclass(frozen=True)
class RunRecord:
    """A run without its large columns; `summary` is parsed when the run is done."""

    id: str
    tenant: str
    brand: str
    period: str
    status: RunStatus
    inputs_hash: str
    carry_from: str | None
    created_at: datetime
    created_by: str
    finished_at: datetime | None
    error_kind: str | None
    error: str | None
    summary: dict[str, Any] | None

    def to_json(self, with_summary: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "brand": self.brand,
            "period": self.period,
            "status": self.status.value,
            "inputs_hash": self.inputs_hash,
            "carry_from": self.carry_from,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "error_kind": self.error_kind,
            "error": self.error,
        }
        if with_summary:
            body["summary"] = self.summary
        return body


@dataclass(frozen=True)
class Outputs:
    """Everything a done run keeps: JSON text of the summary and bill, and bytes."""

    summary: str
    bill: str
    bill_xlsx: bytes
    outcomes: bytes  # Parquet
    carry: bytes  # Carry.to_bytes()


@dataclass(frozen=True)
class Resolution:
    id: int
    record: str
    outcome: str
    note: str
    resolved_by: str
    at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "record": self.record,
            "outcome": self.outcome,
            "note": self.note,
            "resolved_by": self.resolved_by,
            "at": self.at.isoformat(),
        }


# The columns of a run that a status read carries (the large ones stay behind).
_HEAD = (
    SettlementRun.id,
    SettlementRun.tenant,
    SettlementRun.brand,
    SettlementRun.period,
    SettlementRun.status,
    SettlementRun.inputs_hash,
    SettlementRun.carry_from,
    SettlementRun.created_at,
    SettlementRun.created_by,
    SettlementRun.finished_at,
    SettlementRun.error_kind,
    SettlementRun.error,
)


def _record(row: Any, summary: str | None = None) -> RunRecord:
    return RunRecord(
        id=row.id,
        tenant=row.tenant,
        brand=row.brand,
        period=row.period,
        status=RunStatus(row.status),
        inputs_hash=row.inputs_hash,
        carry_from=row.carry_from,
        created_at=row.created_at,
        created_by=row.created_by,
        finished_at=row.finished_at,
        error_kind=row.error_kind,
        error=row.error,
        summary=json.loads(summary) if summary else None,
    )


def _resolution(row: SettlementResolution) -> Resolution:
    return Resolution(row.id, row.record, row.outcome, row.note, row.resolved_by, row.at)


class SettlementStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        return self._engine

    def dispose(self) -> None:
        self._engine.dispose()

    def _read(self) -> AbstractContextManager[Session]:
        return reading(self._engine)

    def _write(self, what: str) -> AbstractContextManager[Session]:
        return writing(self._engine, what)

    # --- runs ----------------------------------------------------------------------------

    def create_run(
        self,
        tenant: str,
        run_id: str,
        *,
        brand: str,
        period: str,
        inputs_hash: str,
        carry_from: str | None,
        created_by: str,
        inputs: Sequence[NewInput],
    ) -> RunRecord:
        """A queued run and every file it was given, in one transaction."""
        run = SettlementRun(
            id=run_id,
            tenant=tenant,
            brand=brand,
            period=period,
            status=RunStatus.QUEUED.value,
            inputs_hash=inputs_hash,
            carry_from=carry_from,
            created_at=datetime.now(UTC),
            created_by=created_by,
        )
        with self._write(f"settlement run {run_id}") as session:
            session.add(run)
            session.flush()  # the run before its files: they refer to it
            for one in inputs:
                session.add(
                    SettlementInput(
                        run_id=run_id,
                        role=one.role,
                        position=one.position,
                        name=one.name,
                        sha256=one.sha256,
                        size=len(one.data),
                        data=one.data,
                    )
                )
        return self.run(tenant, run_id)

    def run(self, tenant: str, run_id: str, with_summary: bool = True) -> RunRecord:
        """The run; NotFound when the tenant has none of that id."""
        columns = (*_HEAD, SettlementRun.summary) if with_summary else _HEAD
        query = select(*columns).where(SettlementRun.tenant == tenant, SettlementRun.id == run_id)
        with self._read() as session:
            row = session.execute(query).one_or_none()
        if row is None:
            raise NotFound("settlement run", run_id)
        return _record(row, row.summary if with_summary else None)

    def runs(
        self,
        tenant: str,
        *,
        brand: str | None = None,
        period: str | None = None,
        limit: int = 100,
    ) -> list[RunRecord]:
        """The tenant's runs, newest first, optionally of one brand or period."""
        query = select(*_HEAD).where(SettlementRun.tenant == tenant)
        if brand is not None:
            query = query.where(SettlementRun.brand == brand)
        if period is not None:
            query = query.where(SettlementRun.period == period)
        query = query.order_by(SettlementRun.created_at.desc(), SettlementRun.id).limit(limit)
        with self._read() as session:
            return [_record(row) for row in session.execute(query)]

    def done_with_hash(self, tenant: str, inputs_hash: str) -> RunRecord | None:
        """The newest done run of the tenant made from exactly these inputs, if any."""
        query = (
            select(SettlementRun.id)
            .where(
                SettlementRun.tenant == tenant,
                SettlementRun.inputs_hash == inputs_hash,
                SettlementRun.status == RunStatus.DONE.value,
            )
            .order_by(SettlementRun.finished_at.desc(), SettlementRun.id)
            .limit(1)
        )
        with self._read() as session:
            found = session.scalar(query)
        return None if found is None else self.run(tenant, found)

    def pool_before(self, tenant: str, brand: str, period: str) -> str | None:
        """The id of the run whose pending pool a run of `brand` for `period` takes: the
        brand's done run of the latest earlier period (of several, the last finished)."""
        query = (
            select(SettlementRun.id)
            .where(
                SettlementRun.tenant == tenant,
                SettlementRun.brand == brand,
                SettlementRun.period < period,  # YYYY-MM sorts as the months do
                SettlementRun.status == RunStatus.DONE.value,
            )
            .order_by(
                SettlementRun.period.desc(), SettlementRun.finished_at.desc(), SettlementRun.id
            )
            .limit(1)
        )
        with self._read() as session:
            found: str | None = session.scalar(query)
            return found

    def start(self, tenant: str, run_id: str) -> RunRecord:
        """The run is running (again, when a run before it died); a done or failed run
        is left as it is and returned, for the caller to stop at."""
        with self._write(f"settlement run {run_id}") as session:
            session.execute(
                update(SettlementRun)
                .where(
                    SettlementRun.tenant == tenant,
                    SettlementRun.id == run_id,
                    SettlementRun.status.in_([RunStatus.QUEUED.value, RunStatus.RUNNING.value]),
                )
                .values(status=RunStatus.RUNNING.value)
            )
        return self.run(tenant, run_id, with_summary=False)

    def finish(self, tenant: str, run_id: str, outputs: Outputs) -> RunRecord:
        """The run is done, with every output, in one transaction."""
        self._end(
            tenant,
            run_id,
            status=RunStatus.DONE.value,
            summary=outputs.summary,
            bill=outputs.bill,
            bill_xlsx=outputs.bill_xlsx,
            outcomes=outputs.outcomes,
            carry=outputs.carry,
        )
        return self.run(tenant, run_id)

    def fail(self, tenant: str, run_id: str, kind: str, error: str) -> RunRecord:
        """The run failed: what kind of error stopped it and its text; no output."""
        self._end(tenant, run_id, status=RunStatus.FAILED.value, error_kind=kind, error=error)
        return self.run(tenant, run_id)

    def _end(self, tenant: str, run_id: str, **values: Any) -> None:
        with self._write(f"settlement run {run_id}") as session:
            done = session.execute(
                update(SettlementRun)
                .where(SettlementRun.tenant == tenant, SettlementRun.id == run_id)
                .values(finished_at=datetime.now(UTC), **values)
            )
            if done.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound("settlement run", run_id)

    # --- files and outputs ---------------------------------------------------------------

    def inputs(self, tenant: str, run_id: str) -> list[InputRecord]:
        """The run's files without their bytes, in hash order (role, then position)."""
        self.run(tenant, run_id, with_summary=False)  # NotFound for another tenant's
        query = select(
            SettlementInput.role,
            SettlementInput.position,
            SettlementInput.name,
            SettlementInput.sha256,
            SettlementInput.size,
        ).where(SettlementInput.run_id == run_id)
        with self._read() as session:
            rows = [InputRecord(*row) for row in session.execute(query)]
        return sorted(rows, key=lambda one: (ROLES.index(one.role), one.position))

    def input_files(self, tenant: str, run_id: str) -> Iterator[tuple[InputRecord, bytes]]:
        """Each file of the run with its bytes, one read at a time (a month's files may
        be large: they are not all held at once here)."""
        for one in self.inputs(tenant, run_id):
            query = select(SettlementInput.data).where(
                SettlementInput.run_id == run_id,
                SettlementInput.role == one.role,
                SettlementInput.position == one.position,
            )
            with self._read() as session:
                data = session.scalar(query)
            assert data is not None  # the row was just listed; files are never deleted
            yield one, data

    def output(self, tenant: str, run_id: str, name: Output) -> bytes | None:
        """One large output of the run (None until it is done)."""
        column = getattr(SettlementRun, name)
        query = select(column).where(SettlementRun.tenant == tenant, SettlementRun.id == run_id)
        with self._read() as session:
            row = session.execute(query).one_or_none()
        if row is None:
            raise NotFound("settlement run", run_id)
        found: bytes | None = row[0]
        return found

    def bill(self, tenant: str, run_id: str) -> dict[str, Any] | None:
        """The run's bill document (None until it is done)."""
        query = select(SettlementRun.bill).where(
            SettlementRun.tenant == tenant, SettlementRun.id == run_id
        )
        with self._read() as session:
            row = session.execute(query).one_or_none()
        if row is None:
            raise NotFound("settlement run", run_id)
        found: dict[str, Any] | None = json.loads(row[0]) if row[0] else None
        return found

    # --- resolutions ---------------------------------------------------------------------

    def add_resolution(
        self, tenant: str, run_id: str, *, record: str, outcome: str, note: str, by: str
    ) -> Resolution:
        """Append a resolution of `record` to the run's trail."""
        self.run(tenant, run_id, with_summary=False)  # NotFound for another tenant's
        row = SettlementResolution(
            run_id=run_id,
            record=record,
            outcome=outcome,
            note=note,
            resolved_by=by,
            at=datetime.now(UTC),
        )
        with self._write(f"resolution of {record} in settlement run {run_id}") as session:
            session.add(row)
            session.flush()
            return _resolution(row)

    def resolutions(self, tenant: str, run_id: str, record: str | None = None) -> list[Resolution]:
        """The run's trail in the order it was written (of one record, when given)."""
        self.run(tenant, run_id, with_summary=False)
        query = select(SettlementResolution).where(SettlementResolution.run_id == run_id)
        if record is not None:
            query = query.where(SettlementResolution.record == record)
        with self._read() as session:
            return [_resolution(row) for row in session.scalars(query.order_by("id"))]
