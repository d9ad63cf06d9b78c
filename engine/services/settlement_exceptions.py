"""A settlement run's exceptions as a person reviews them: each held record beside the
records on its three sides (the platform order, the bill lines, the warehouse records)
it was matched with, its current resolution by hand, and the lines of the uploaded files
those records name, as the files hold them. The console's run and resolve pages read
these; the API gives the same rows, unjoined, through GET .../outcomes."""

from __future__ import annotations

import contextlib
import csv
import io
import math
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from engine.core.errors import InputError, Issue
from engine.services import settlements as service
from engine.settlement.output import HELD_OUTCOMES, money
from engine.settlement.records import Outcome
from engine.settlement.runstore import RunRecord, RunStatus, SettlementStore
from engine.settlement.sources.text import Doc, decode

# The held outcomes in the order the engine lists outcomes (records.Outcome).
HELD = tuple(one.value for one in Outcome if one in HELD_OUTCOMES)
# The three sides of an exception, in the order the console's table shows them.
SIDES = ("orders", "payments", "movements")


@dataclass(frozen=True)
class Side:
    """A record on one side of an exception: the row's own, or one it was matched with."""

    record: str
    amount: str | None
    outcome: str | None
    own: bool


@dataclass
class ExceptionRow:
    record: str
    source: str
    outcome: str
    order_id: str | None
    shop: str | None
    amount: str | None
    expected: str | None
    reason: str
    resolution: dict[str, Any] | None
    sides: dict[str, list[Side]] = field(default_factory=dict)


@dataclass(frozen=True)
class Exceptions:
    rows: list[ExceptionRow]
    total: int
    page: int
    pages: int


def _yuan(fen: int | None) -> str | None:
    return None if fen is None else money(fen)


def current_resolutions(trail: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each record's current resolution, from the service's trail (which marks it)."""
    return {one["record"]: one for one in trail if one["current"]}


def laid_out(
    frame: pl.DataFrame, rows: list[dict[str, Any]], current: dict[str, dict[str, Any]]
) -> list[ExceptionRow]:
    """Outcome rows with the records on their three sides (the platform order, the bill
    lines, the warehouse records): the row's own record, and those it was matched with,
    each read from the same outcomes (each is a row of its own, with source and amount)."""
    wanted = sorted({joined for row in rows for joined in row["joins"] or ()})
    found = frame.filter(pl.col("record").is_in(wanted)).unique("record", keep="first")
    others = {one["record"]: one for one in found.to_dicts()}
    shown = []
    for row in rows:
        item = ExceptionRow(
            record=row["record"],
            source=row["source"],
            outcome=row["outcome"],
            order_id=row["order_id"],
            shop=row["shop"],
            amount=_yuan(row["amount"]),
            expected=_yuan(row["expected"]),
            reason=row["reason"] or "",
            resolution=current.get(row["record"]),
            sides={side: [] for side in SIDES},
        )
        item.sides[row["source"]].append(Side(row["record"], item.amount, None, True))
        for joined in row["joins"] or ():
            other = others.get(joined)
            if other is not None:
                side = Side(joined, _yuan(other["amount"]), other["outcome"], False)
                item.sides[other["source"]].append(side)
        shown.append(item)
    return shown


def held_page(
    store: SettlementStore,
    tenant: str,
    run_id: str,
    brand: str | None,
    outcome: str,
    resolved: str,
    page: int,
    page_rows: int,
) -> Exceptions:
    """A page of the run's held records, in the engine's order, each with the records
    on its three sides (the platform order, the bill lines, the warehouse records)."""
    frame = service.outcomes_frame(store, tenant, run_id)
    current = current_resolutions(service.resolutions(store, tenant, run_id, brand))
    held = frame.filter(pl.col("outcome").is_in([outcome] if outcome else list(HELD)))
    if resolved:
        done = pl.col("record").is_in(pl.Series(list(current), dtype=pl.String).implode())
        held = held.filter(done if resolved == "yes" else ~done)
    pages = max(1, math.ceil(held.height / page_rows))
    page = min(page, pages)
    rows = held.slice((page - 1) * page_rows, page_rows).to_dicts()
    shown = laid_out(frame, rows, current)
    return Exceptions(shown, held.height, page, pages)


@dataclass(frozen=True)
class Held:
    """One exception to resolve, with its trail so far and the lines of its records as
    the files hold them (record -> the line's cells under its file's column names)."""

    run: RunRecord
    row: ExceptionRow
    trail: list[dict[str, Any]]
    lines: dict[str, list[tuple[str, str]]]


def _member(archive: zipfile.ZipFile, wanted: str) -> bytes | None:
    for info in archive.infolist():
        # A zip made on Chinese Windows stores GBK names unflagged, read by Python as
        # cp437 (engine/settlement/sources/detect.py reads them back the same way).
        names = {info.filename}
        with contextlib.suppress(UnicodeError):
            names.add(info.filename.encode("cp437").decode("gb18030"))
        if wanted in names:
            return archive.read(info)
    return None


def _cells(data: bytes, source: str, line: int) -> list[tuple[str, str]]:
    """Line `line` of a file under its header's names, each cell as an export writes it
    to keep a number text (a WeChat backtick, Excel's ="...") shown bare."""
    doc = Doc(decode(data, source))
    head = doc.header()
    rows = doc.text.split("\n")
    if head is None or not head.line_index < line - 1 < len(rows):
        return []
    [values] = csv.reader([rows[line - 1]])
    bare = [value.strip().strip("`").removeprefix('="').removesuffix('"') for value in values]
    return [(name, value) for name, value in zip(head.names(), bare, strict=False) if value]


def record_lines(
    store: SettlementStore, tenant: str, run_id: str, records: Iterable[str]
) -> dict[str, list[tuple[str, str]]]:
    """The lines of the run's files that `records` (file:line, a zip's as zip/member:line)
    name, read from the files as uploaded. A record of an earlier run's file (a pending
    record carried in) is in none of this run's files and is left out."""
    wanted: dict[str, list[tuple[str, str, int]]] = {}
    for record in records:
        path, _, said = record.rpartition(":")
        name, _, member = path.partition("/")  # a file's own name holds no "/"
        if said.isdigit():
            wanted.setdefault(name, []).append((record, member, int(said)))
    found: dict[str, list[tuple[str, str]]] = {}
    for one, data in store.input_files(tenant, run_id):
        for record, member, number in wanted.get(one.name, ()):
            with contextlib.suppress(InputError, zipfile.BadZipFile, csv.Error, ValueError):
                text = data
                if member:
                    with zipfile.ZipFile(io.BytesIO(data)) as archive:
                        text = _member(archive, member) or b""
                found[record] = _cells(text, record, number)
    return found


def held_record(
    store: SettlementStore, tenant: str, run_id: str, brand: str | None, record: str
) -> Held:
    """The record as an exception of the run, or an InputError naming `record` (no such
    record, or one that matched: there is nothing to resolve); RunNotDone before the
    run is done."""
    run = service.readable_run(store, tenant, run_id, brand)
    if run.status is not RunStatus.DONE:
        raise service.RunNotDone(run)
    frame = service.outcomes_frame(store, tenant, run_id)
    rows = frame.filter(pl.col("record") == record)
    if rows.height == 0:
        message = f"{record!r} is no record of this run (a record is file:line)"
        raise InputError([Issue("record", message)], "form")
    if (rows.get_column("outcome") == Outcome.MATCHED.value).all():
        message = f"{record!r} matched: there is nothing to resolve"
        raise InputError([Issue("record", message)], "form")
    trail = service.resolutions(store, tenant, run_id, brand)
    row = rows.filter(pl.col("outcome") != Outcome.MATCHED.value).head(1).to_dicts()
    [shown] = laid_out(frame, row, current_resolutions(trail))
    mine = [one for one in trail if one["record"] == record]
    named = [side.record for parts in shown.sides.values() for side in parts]
    return Held(run, shown, mine, record_lines(store, tenant, run_id, named))
