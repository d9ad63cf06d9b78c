"""The initial bill: the agency's fee on one brand for one month, per shop and in total.

The matching hands over, per shop, what it settled: the GMV of matched paid orders, the
refunds, the count of matched orders, and what it held out as exceptions. The fee is
worked out on the brand's total (tiers and the fixed sum belong to the brand, not to a
shop) and then shared out over the shops, so the shop lines always add up to the total.

Amounts are whole fen (ints) and exact. A fee is a Decimal of fen until it is rounded,
half up, once, to the figure the bill shows. The same figures give the same bill.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from engine.core.errors import InputError, Issue
from engine.settlement.contract import Contract, FixedPlusPercent, Percent, PerOrder, Tiered

__all__ = ["TOP_UP", "Bill", "BillLine", "ShopFigures", "allocate", "fee_fen", "initial_bill"]

_PERIOD = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
_FEN_PER_YUAN = 100
TOP_UP = "minimum_fee_top_up"


@dataclass(frozen=True)
class ShopFigures:
    """What the matching settled for one shop in the period (money in fen)."""

    shop: str
    gmv_fen: int  # matched paid orders
    refunds_fen: int  # money returned to buyers, >= 0
    orders: int  # matched orders
    held_count: int = 0  # exception outcomes held out of the bill
    held_fen: int = 0


@dataclass(frozen=True)
class BillLine:
    """A shop's line, or the top-up to the minimum fee (kind TOP_UP, no shop)."""

    kind: str  # "shop" or TOP_UP
    shop: str
    gmv_fen: int
    refunds_fen: int
    settled_fen: int
    orders: int
    fee_fen: int
    held_count: int
    held_fen: int


@dataclass(frozen=True)
class Bill:
    brand: str
    period: str
    currency: str
    method: str
    lines: tuple[BillLine, ...]  # shops by id, then the top-up when there is one
    gmv_fen: int
    refunds_fen: int
    settled_fen: int
    orders: int
    fee_before_minimum_fen: int
    top_up_fen: int
    fee_fen: int  # the sum of every line's fee
    held_count: int
    held_fen: int

    @property
    def shop_lines(self) -> tuple[BillLine, ...]:
        return tuple(line for line in self.lines if line.kind == "shop")


def _fen(yuan: Decimal) -> Decimal:
    return yuan * _FEN_PER_YUAN


def _round(fen: Decimal) -> int:
    return int(fen.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _tiered_fen(method: Tiered, base_fen: int) -> Decimal:
    base = Decimal(base_fen)
    if method.mode == "whole":
        # The band the total falls in (its upto inclusive) sets the rate of all of it.
        for band in method.bands:
            if band.upto is None or base <= _fen(band.upto):
                return base * band.rate
        raise AssertionError("the contract guarantees an open last band")
    fee, lower = Decimal(0), Decimal(0)
    for band in method.bands:
        upper = base if band.upto is None else min(base, _fen(band.upto))
        if upper > lower:
            fee += (upper - lower) * band.rate
        if band.upto is None or base <= _fen(band.upto):
            break
        lower = _fen(band.upto)
    return fee


def fee_fen(contract: Contract, settled_fen: int, orders: int) -> int:
    """The brand's fee before the minimum, rounded half up to whole fen. A negative
    settled total (more refunded than sold) earns no commission, not a credit."""
    base = max(settled_fen, 0)
    method = contract.method
    exact: Decimal
    if isinstance(method, Percent):
        exact = base * method.rate
    elif isinstance(method, FixedPlusPercent):
        exact = _fen(method.fixed) + base * method.rate
    elif isinstance(method, Tiered):
        exact = _tiered_fen(method, base)
    elif isinstance(method, PerOrder):
        exact = _fen(method.fee) * orders
    else:  # pragma: no cover - the contract's union is closed
        raise AssertionError(f"unknown method {method!r}")
    return _round(exact)


def allocate(total_fen: int, weights: Sequence[int]) -> list[int]:
    """`total_fen` split by `weights` into whole fen that add up to it exactly.

    Each share is cut down to whole fen; what the cuts leave (fewer fen than there are
    weights) goes to the largest weight (the first of equals), so no share is ever
    negative. With no positive weight the split is even."""
    if not weights:
        raise ValueError("allocate needs at least one weight")
    clipped = [max(weight, 0) for weight in weights]
    whole = sum(clipped)
    if whole == 0:
        clipped, whole = [1] * len(weights), len(weights)
    shares = [total_fen * weight // whole for weight in clipped]
    largest = max(range(len(clipped)), key=lambda index: (clipped[index], -index))
    shares[largest] += total_fen - sum(shares)
    return shares


def _input_issues(period: str, figures: Sequence[ShopFigures]) -> list[Issue]:
    issues = []
    if not _PERIOD.fullmatch(period):
        issues.append(Issue("period", f"a period is YYYY-MM, got {period!r}"))
    if not figures:
        issues.append(Issue("lines", "no shop figures: a bill needs at least one shop"))
    seen: set[str] = set()
    for figure in figures:
        where = f"lines[{figure.shop}]"
        if figure.shop in seen:
            issues.append(Issue(where, "shop appears twice"))
        seen.add(figure.shop)
        for name in ("gmv_fen", "refunds_fen", "orders", "held_count", "held_fen"):
            if getattr(figure, name) < 0:
                issues.append(Issue(f"{where}.{name}", "must be >= 0"))
    return issues


def initial_bill(contract: Contract, period: str, lines: Iterable[ShopFigures]) -> Bill:
    """The brand's bill for `period` (YYYY-MM) from each shop's settled figures."""
    figures = sorted(lines, key=lambda figure: figure.shop)
    issues = _input_issues(period, figures)
    if issues:
        raise InputError(issues, f"bill {contract.brand} {period}")

    deduct = contract.deductions.returns
    settled = [f.gmv_fen - f.refunds_fen if deduct else f.gmv_fen for f in figures]
    orders = [f.orders for f in figures]
    settled_total, orders_total = sum(settled), sum(orders)

    fee_total = fee_fen(contract, settled_total, orders_total)
    # A per-order fee belongs to the shop that took the orders; every other fee is the
    # brand's and is shared by settled GMV.
    weights = orders if isinstance(contract.method, PerOrder) else settled
    fees = allocate(fee_total, weights)

    bill_lines = [
        BillLine(
            "shop", f.shop, f.gmv_fen, f.refunds_fen, s, f.orders, fee, f.held_count, f.held_fen
        )
        for f, s, fee in zip(figures, settled, fees, strict=True)
    ]
    minimum = 0 if contract.minimum_fee is None else _round(_fen(contract.minimum_fee))
    top_up = max(minimum - fee_total, 0)
    if top_up:
        bill_lines.append(BillLine(TOP_UP, "", 0, 0, 0, 0, top_up, 0, 0))

    return Bill(
        brand=contract.brand,
        period=period,
        currency=contract.currency,
        method=contract.method.kind,
        lines=tuple(bill_lines),
        gmv_fen=sum(f.gmv_fen for f in figures),
        refunds_fen=sum(f.refunds_fen for f in figures),
        settled_fen=settled_total,
        orders=orders_total,
        fee_before_minimum_fen=fee_total,
        top_up_fen=top_up,
        fee_fen=fee_total + top_up,
        held_count=sum(f.held_count for f in figures),
        held_fen=sum(f.held_fen for f in figures),
    )
