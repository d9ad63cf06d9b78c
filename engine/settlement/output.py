"""What a settlement run leaves behind: the bill (JSON and a workbook for the brand), the
outcome of every record (CSV), and a summary of counts and control totals.

bill.json and summary.json are the same bytes for the same run (sorted keys, money as
"0.00" strings), so two runs can be compared with a diff. Every file is written whole or
not at all: a crash never leaves half a bill beside the old one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
from openpyxl import Workbook

from engine.core.errors import InputError, Issue
from engine.core.files import atomic_file, write_atomically
from engine.settlement.bill import Bill, BillLine
from engine.settlement.carry import CARRY_FILE, Carry
from engine.settlement.records import Outcome

__all__ = [
    "HELD_OUTCOMES",
    "Control",
    "bill_document",
    "money",
    "summary_document",
    "write_bill_json",
    "write_bill_xlsx",
    "write_outcomes_csv",
    "write_settlement",
    "write_summary_json",
]

# Exceptions held out of the bill until someone resolves them. Matched records are billed
# and records that are no order's were never billable.
HELD_OUTCOMES = frozenset(Outcome) - {Outcome.MATCHED, Outcome.NOT_FOR_ORDERS}


@dataclass(frozen=True)
class Control:
    """A source's control total: how many records it had and what they add up to."""

    records: int
    amount_fen: int


def money(fen: int) -> str:
    """Fen as yuan text with two decimals: 39900 -> '399.00', -5 -> '-0.05'."""
    return format(Decimal(fen).scaleb(-2), "f")


def _line_document(line: BillLine) -> dict[str, Any]:
    return {
        "kind": line.kind,
        "shop": line.shop,
        "gmv": money(line.gmv_fen),
        "refunds": money(line.refunds_fen),
        "settled": money(line.settled_fen),
        "orders": line.orders,
        "fee": money(line.fee_fen),
        "held": line.held_count,
        "held_amount": money(line.held_fen),
    }


def bill_document(bill: Bill) -> dict[str, Any]:
    return {
        "brand": bill.brand,
        "period": bill.period,
        "currency": bill.currency,
        "method": bill.method,
        "gmv": money(bill.gmv_fen),
        "refunds": money(bill.refunds_fen),
        "settled": money(bill.settled_fen),
        "orders": bill.orders,
        "fee_before_minimum": money(bill.fee_before_minimum_fen),
        "top_up": money(bill.top_up_fen),
        "fee": money(bill.fee_fen),
        "held": bill.held_count,
        "held_amount": money(bill.held_fen),
        "lines": [_line_document(line) for line in bill.lines],
    }


def _canonical(document: Mapping[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def _outcome_counts(outcomes: pl.DataFrame) -> dict[str, int]:
    if "outcome" not in outcomes.columns:
        raise InputError([Issue("outcome", "the outcomes frame has no outcome column")], "outcomes")
    counts = {outcome.value: 0 for outcome in Outcome}
    for name, count in outcomes.group_by("outcome").len().iter_rows():
        if name not in counts:
            issue = Issue("outcome", f"unknown outcome {name!r}: not one of records.Outcome")
            raise InputError([issue], "outcomes")
        counts[name] = count
    return counts


def summary_document(
    bill: Bill,
    outcomes: pl.DataFrame,
    control: Mapping[str, Control],
    pool: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The run in figures. `pool` (when given) says what the pending pool brought in and
    what it holds for the next run; the other keys are the documented contract."""
    extra = {} if pool is None else {"pending_pool": dict(pool)}
    return {
        **extra,
        "outcomes": _outcome_counts(outcomes),
        "control": {
            source: {"records": total.records, "amount": money(total.amount_fen)}
            for source, total in control.items()
        },
        "bill": {
            "brand": bill.brand,
            "period": bill.period,
            "gmv": money(bill.gmv_fen),
            "fee": money(bill.fee_fen),
            "lines": [_line_document(line) for line in bill.lines],
            "held": bill.held_count,
        },
    }


def write_bill_json(bill: Bill, directory: Path) -> Path:
    path = directory / "bill.json"
    write_atomically(path, _canonical(bill_document(bill)))
    return path


def write_summary_json(
    bill: Bill, outcomes: pl.DataFrame, control: Mapping[str, Control], directory: Path
) -> Path:
    path = directory / "summary.json"
    write_atomically(path, _canonical(summary_document(bill, outcomes, control)))
    return path


def _flat(frame: pl.DataFrame) -> pl.DataFrame:
    """List columns (an outcome's `joins`) as one text cell: CSV and a sheet cell hold
    no lists."""
    lists = [name for name, dtype in frame.schema.items() if isinstance(dtype, pl.List)]
    return frame.with_columns(
        pl.col(name).cast(pl.List(pl.String())).list.join("; ") for name in lists
    )


def write_outcomes_csv(outcomes: pl.DataFrame, directory: Path) -> Path:
    # Excel reads a CSV without a byte-order mark in the local code page and garbles
    # Chinese text; the BOM makes it read UTF-8.
    path = directory / "outcomes.csv"
    with atomic_file(path) as file:
        _flat(outcomes).write_csv(file, include_bom=True)
    return path


_SHEET_FORBIDDEN = str.maketrans({char: "_" for char in "[]:*?/\\"})


def _sheet_title(name: str, taken: set[str]) -> str:
    # Excel allows 31 characters and none of []:*?/\ in a sheet's name, unique ignoring case.
    base = (name.translate(_SHEET_FORBIDDEN) or "_")[:31]
    title, n = base, 1
    while title.lower() in taken:
        n += 1
        suffix = f"~{n}"
        title = base[: 31 - len(suffix)] + suffix
    taken.add(title.lower())
    return title


_LINE_ROWS = (
    ("GMV", "gmv_fen"),
    ("refunds", "refunds_fen"),
    ("settled GMV", "settled_fen"),
    ("fee", "fee_fen"),
    ("held amount", "held_fen"),
)


def _cell(value: Any) -> Any:
    # openpyxl takes numbers, text, dates and None; anything else (a list) goes as text.
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if hasattr(value, "isoformat"):
        return value
    return str(value)


def _workbook(bill: Bill, outcomes: pl.DataFrame) -> Workbook:
    # Write-only: rows are streamed out, not kept as cell objects (a month holds tens of
    # thousands of held exceptions).
    book = Workbook(write_only=True)
    summary = book.create_sheet("summary")
    taken = {"summary", "held exceptions"}
    summary.append(["brand", bill.brand])
    summary.append(["period", bill.period])
    summary.append(["currency", bill.currency])
    summary.append(["method", bill.method])
    summary.append([])
    summary.append(["line", "shop", "GMV", "refunds", "settled GMV", "orders", "fee", "held"])
    for line in bill.lines:
        summary.append(
            [
                line.kind,
                line.shop,
                money(line.gmv_fen),
                money(line.refunds_fen),
                money(line.settled_fen),
                line.orders,
                money(line.fee_fen),
                line.held_count,
            ]
        )
    summary.append(
        [
            "total",
            "",
            money(bill.gmv_fen),
            money(bill.refunds_fen),
            money(bill.settled_fen),
            bill.orders,
            money(bill.fee_fen),
            bill.held_count,
        ]
    )
    for line in bill.shop_lines:
        sheet = book.create_sheet(_sheet_title(line.shop, taken))
        sheet.append(["shop", line.shop])
        for label, field in _LINE_ROWS:
            sheet.append([label, money(getattr(line, field))])
        sheet.append(["orders", line.orders])
        sheet.append(["held exceptions", line.held_count])

    held = book.create_sheet("held exceptions")
    if "outcome" in outcomes.columns:
        rows = _flat(outcomes).filter(
            pl.col("outcome").is_in(sorted(o.value for o in HELD_OUTCOMES))
        )
        held.append(rows.columns)
        for row in rows.iter_rows():
            held.append([_cell(value) for value in row])
    return book


def write_bill_xlsx(bill: Bill, outcomes: pl.DataFrame, directory: Path) -> Path:
    """bill.xlsx: a summary sheet, a sheet per shop and the held exceptions."""
    path = directory / "bill.xlsx"
    directory.mkdir(parents=True, exist_ok=True)
    book = _workbook(bill, outcomes)
    with atomic_file(path) as file:
        book.save(file)
    return path


def write_settlement(
    bill: Bill,
    outcomes: pl.DataFrame,
    control: Mapping[str, Control],
    directory: Path,
    carry: Carry | None = None,
    pool: Mapping[str, Any] | None = None,
    daily: pl.DataFrame | None = None,
) -> list[Path]:
    """Every file of a run into `directory`: with the pending pool (`carry.zip`) and
    the control totals per source, shop and day (`control.csv`) when given; the summary
    last, as the mark of a whole run. The outcomes are checked before anything is
    written, so bad input leaves no files."""
    summary = summary_document(bill, outcomes, control, pool)
    paths = [
        write_bill_json(bill, directory),
        write_bill_xlsx(bill, outcomes, directory),
        write_outcomes_csv(outcomes, directory),
    ]
    if daily is not None:
        target = directory / "control.csv"
        write_atomically(target, daily.write_csv())
        paths.append(target)
    if carry is not None:
        target = directory / CARRY_FILE
        write_atomically(target, carry.to_bytes())
        paths.append(target)
    path = directory / "summary.json"
    write_atomically(path, _canonical(summary))
    return [*paths, path]
