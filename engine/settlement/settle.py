"""One settlement run, files to bill: read every file (each checked to be what it was
given as), match the three sources, re-check that every record is accounted for, and
work out the brand's initial bill from what matched.

The shop of an order is the export's shop name; the bill has a line per shop. An order
counts in the bill when it matched: its money paid in is the shop's GMV and its refunds
are deducted (when the contract says so); every other outcome of an order is held out of
the bill and counted on its shop's line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from engine.core.errors import InputError, Issue
from engine.settlement.bill import Bill, ShopFigures, initial_bill
from engine.settlement.carry import Carry
from engine.settlement.contract import Contract
from engine.settlement.control import ensure_reconciled, money_in
from engine.settlement.match import Matching, Tolerance, match
from engine.settlement.output import HELD_OUTCOMES, Control
from engine.settlement.records import (
    MOVEMENT_SCHEMA,
    ORDER_SCHEMA,
    PAYMENT_SCHEMA,
    Outcome,
    empty,
)
from engine.settlement.sources import OrderMap, read_settlement_file

__all__ = ["Settlement", "period_bounds", "pool_document", "settle", "tolerance_of"]

_KIND_NAMES = {
    "orders": "a platform order export",
    "payments": "a payment bill",
    "movements": "warehouse records",
}


@dataclass(frozen=True)
class Settlement:
    bill: Bill
    matching: Matching
    control: dict[str, Control]
    carry: Carry  # the records held `pending`, for the next run
    carried: dict[str, int]  # records taken from the previous run's pool, per source
    superseded: int = 0  # carried orders this run's export holds again (the new row wins)
    # The control totals per source, shop and day (control.by_shop_and_day).
    daily: pl.DataFrame | None = None

    @property
    def outcomes(self) -> pl.DataFrame:
        return self.matching.outcomes


def pool_document(run: Settlement) -> dict[str, Any]:
    """What the pending pool brought into the run and what it holds for the next one."""
    return {
        "carried_in": dict(run.carried),
        "superseded": run.superseded,
        "held": run.carry.counts,
    }


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """The first instant of the month and the first of the next (China time)."""
    found = re.fullmatch(r"(\d{4})-(\d{2})", period)
    # years 1..9998: the month after the period must exist as a date too
    if found is None or not 1 <= int(found.group(2)) <= 12 or not 1 <= int(found.group(1)) < 9999:
        raise InputError([Issue("period", f"{period!r} is not a month: YYYY-MM")], "settlement")
    year, month = int(found.group(1)), int(found.group(2))
    return datetime(year, month, 1), datetime(year + month // 12, month % 12 + 1, 1)


def tolerance_of(contract: Contract, period: str) -> Tolerance:
    """The matching's tolerances: the contract's, in fen, over the period's month."""
    start, end = period_bounds(period)
    terms = contract.tolerances
    return Tolerance(
        period_start=start,
        period_end=end,
        amount_fen=int(terms.amount * 100),
        fee_rate=terms.fee_rate,
        fee_tolerance_fen=int(terms.fee * 100),
        pending_days=terms.pending_days,
        pending_by_channel=terms.pending_by_channel,
    )


def order_map_of(contract: Contract) -> OrderMap:
    """The contract's prefixes of provider order numbers, else the default map."""
    if not contract.order_map.prefixes:
        return OrderMap()
    prefixed = tuple(rf"^{re.escape(p)}(\d+)$" for p in contract.order_map.prefixes)
    return OrderMap((*prefixed, r"^(\d+)$"))


def _read(paths: Sequence[Path], kind: str, order_map: OrderMap) -> pl.DataFrame:
    schema = {"orders": ORDER_SCHEMA, "payments": PAYMENT_SCHEMA, "movements": MOVEMENT_SCHEMA}
    frames = []
    for path in paths:
        source = read_settlement_file(path, order_map)
        if source.kind != kind:
            message = f"given as {_KIND_NAMES[kind]}, but it is {_KIND_NAMES[source.kind]}"
            raise InputError([Issue(str(path), message)], "settlement")
        frames.append(source.frame)
    return pl.concat(frames) if frames else empty(schema[kind])


def _check_carry(carry: Carry, contract: Contract, period: str) -> None:
    issues = []
    if carry.brand != contract.brand:
        mine = f"the pool is brand {carry.brand}'s, not {contract.brand}'s"
        issues.append(Issue("carry.brand", mine))
    if period_bounds(carry.period)[0] >= period_bounds(period)[0]:
        issues.append(Issue("carry.period", f"the pool is of {carry.period}, not before {period}"))
    if issues:
        raise InputError(issues, "settlement carry")


def _with_carry(
    frames: dict[str, pl.DataFrame], carry: Carry
) -> tuple[dict[str, pl.DataFrame], int]:
    """The carried records ahead of this run's own. A carried order that this run's
    export holds again is replaced by the new row (its status is the newer one); the
    count of those is returned beside the frames."""
    fresh = frames["orders"].get_column("order_id").drop_nulls().implode()
    kept = carry.frames["orders"].filter(~pl.col("order_id").is_in(fresh))
    superseded = carry.frames["orders"].height - kept.height
    carried = {**carry.frames, "orders": kept}
    return {name: pl.concat([carried[name], frames[name]]) for name in frames}, superseded


def _pending_pool(
    frames: dict[str, pl.DataFrame], outcomes: pl.DataFrame, brand: str, period: str
) -> Carry:
    """The input rows whose outcome is `pending`: outcomes list each source's rows in
    input order, so a source's outcome column lines up with its frame."""
    held = {}
    # A carried record is named with the month it came from (2026-11/orders.csv:12):
    # next month's files may well have the same names.
    named = (
        pl.when(pl.col("source").str.contains(r"^\d{4}-\d{2}/"))
        .then(pl.col("source"))
        .otherwise(pl.lit(period + "/") + pl.col("source"))
    )
    for name, frame in frames.items():
        outcome = outcomes.filter(pl.col("source") == name).get_column("outcome")
        pending = frame.filter(outcome == Outcome.PENDING.value)
        held[name] = pending.with_columns(named.alias("source"))
    return Carry(brand, period, held)


def settle(
    orders: Sequence[Path],
    payments: Sequence[Path],
    warehouse: Sequence[Path],
    contract: Contract,
    period: str,
    carry: Carry | None = None,
) -> Settlement:
    """Read, match, re-check (ControlError when the outcomes do not account for every
    record: the CLI's exit 5) and bill. `carry` is the pool the brand's previous run
    held pending: its records are matched again with this run's."""
    order_map = order_map_of(contract)
    frames = {
        "orders": _read(orders, "orders", order_map),
        "payments": _read(payments, "payments", order_map),
        "movements": _read(warehouse, "movements", order_map),
    }
    superseded = 0
    carried = {name: 0 for name in frames}
    if carry is not None:
        _check_carry(carry, contract, period)
        frames, superseded = _with_carry(frames, carry)
        carried = {**carry.counts, "orders": carry.counts["orders"] - superseded}
    tol = tolerance_of(contract, period)
    matching = match(frames["orders"], frames["payments"], frames["movements"], tol)
    daily = ensure_reconciled(frames, matching.outcomes)
    bill = initial_bill(
        contract, period, _shop_figures(frames, matching.outcomes, matching.allocations)
    )
    control = {name: Control(frame.height, money_in(name, frame)) for name, frame in frames.items()}
    pool = _pending_pool(frames, matching.outcomes, contract.brand, period)
    return Settlement(bill, matching, control, pool, carried, superseded, daily)


def _shop_figures(
    frames: dict[str, pl.DataFrame], outcomes: pl.DataFrame, allocations: pl.DataFrame
) -> list[ShopFigures]:
    """Per shop: the matched orders' money in and refunds, their count, and the orders
    held out of the bill by another outcome (count and order amount)."""
    orders = frames["orders"]
    order_outcome = outcomes.filter(pl.col("source") == "orders").select("order_id", "outcome")
    # The matching's allocations: repeats counted once, combined payments split by order.
    money = allocations.group_by("order_id").agg(
        paid=pl.col("amount").filter(pl.col("amount") > 0).sum(),
        refunded=-pl.col("amount").filter(pl.col("amount") < 0).sum(),
    )
    joined = (
        orders.select("order_id", "shop", "amount")
        .join(order_outcome, on="order_id", how="left")
        .join(money, on="order_id", how="left")
        .with_columns(pl.col("paid", "refunded").fill_null(0))
    )
    held = sorted(outcome.value for outcome in HELD_OUTCOMES)
    per_shop = joined.group_by("shop").agg(
        gmv=pl.col("paid").filter(pl.col("outcome") == Outcome.MATCHED.value).sum(),
        refunds=pl.col("refunded").filter(pl.col("outcome") == Outcome.MATCHED.value).sum(),
        orders=(pl.col("outcome") == Outcome.MATCHED.value).sum(),
        held_count=pl.col("outcome").is_in(held).sum(),
        held_fen=pl.col("amount").filter(pl.col("outcome").is_in(held)).sum(),
    )
    return [
        ShopFigures(
            shop=row["shop"],
            gmv_fen=int(row["gmv"] or 0),
            refunds_fen=int(row["refunds"] or 0),
            orders=int(row["orders"] or 0),
            held_count=int(row["held_count"] or 0),
            held_fen=int(row["held_fen"] or 0),
        )
        for row in per_shop.sort("shop").iter_rows(named=True)
    ]
