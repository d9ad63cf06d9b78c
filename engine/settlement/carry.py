"""The pending pool: records a run could not settle yet, handed to the brand's next run.

A bill is T+1 and an order may be paid in the last hour of a month: its payment, or its
outbound, only arrives in the next month's files. A run gives such records the outcome
`pending` and keeps them, as they were read, in a `Carry`. The next run of the same brand
adds them to its own inputs, so they are matched again with the new files: found, they
settle (in that run's bill); still alone, they are now older than the pending window and
take their exception. A record is never carried past the window it was given.

On disk (`carry.zip`, written beside a run's outputs) and in the database the pool is one
zip: `carry.json` (brand, period, records per source) and a Parquet file per source with
the source's columns (records.py), so a record keeps its file, line, fen and times exactly.
The bytes are deterministic: the same pool writes the same zip.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from engine.core.errors import InputError, Issue
from engine.core.files import write_atomically
from engine.settlement.records import MOVEMENT_SCHEMA, ORDER_SCHEMA, PAYMENT_SCHEMA, empty

__all__ = ["CARRY_FILE", "Carry", "load_carry"]

CARRY_FILE = "carry.zip"
SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "orders": ORDER_SCHEMA,
    "payments": PAYMENT_SCHEMA,
    "movements": MOVEMENT_SCHEMA,
}
_STAMP = (2000, 1, 1, 0, 0, 0)  # a fixed member time: the zip's bytes depend on its content only


def _empty_frames() -> dict[str, pl.DataFrame]:
    return {name: empty(schema) for name, schema in SCHEMAS.items()}


@dataclass(frozen=True)
class Carry:
    """The records one run of `brand` for `period` held pending, per source."""

    brand: str
    period: str
    frames: dict[str, pl.DataFrame] = field(default_factory=_empty_frames)

    @property
    def counts(self) -> dict[str, int]:
        return {name: self.frames[name].height for name in SCHEMAS}

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            head = {"brand": self.brand, "period": self.period, "records": self.counts}
            info = zipfile.ZipInfo("carry.json", date_time=_STAMP)
            archive.writestr(info, json.dumps(head, sort_keys=True), zipfile.ZIP_DEFLATED)
            for name in SCHEMAS:
                data = io.BytesIO()
                self.frames[name].write_parquet(data, statistics=False)
                info = zipfile.ZipInfo(f"{name}.parquet", date_time=_STAMP)
                archive.writestr(info, data.getvalue(), zipfile.ZIP_DEFLATED)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, source: str = "carry") -> Carry:
        """A pool back from its zip; an InputError naming `source` when it is none."""
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                head = json.loads(archive.read("carry.json"))
                frames = {
                    name: pl.read_parquet(io.BytesIO(archive.read(f"{name}.parquet")))
                    for name in SCHEMAS
                }
            brand, period = str(head["brand"]), str(head["period"])
        except (zipfile.BadZipFile, KeyError, ValueError, OSError, pl.exceptions.PolarsError):
            message = "is not a pending pool written by omnistock settle (carry.zip)"
            raise InputError([Issue(source, message)], "settlement carry") from None
        for name, schema in SCHEMAS.items():
            if dict(frames[name].schema) != schema:
                message = f"its {name} do not have the columns of this version"
                raise InputError([Issue(source, message)], "settlement carry")
        return cls(brand, period, frames)

    def write(self, directory: Path) -> Path:
        path = directory / CARRY_FILE
        write_atomically(path, self.to_bytes())
        return path


def load_carry(path: Path) -> Carry:
    """The pool in `path`: a carry.zip, or a run's output directory holding one."""
    target = path / CARRY_FILE if path.is_dir() else path
    try:
        data = target.read_bytes()
    except OSError as error:
        reason = error.strerror or "cannot be read"
        raise InputError([Issue(str(target), reason)], "settlement carry") from None
    return Carry.from_bytes(data, str(target))
