"""Read-back: what a platform holds, compared field by field with what we sent.

The intent is the payload sent (the catalog's payload, with the stock and prices the
later updates set); the platform's side is its ListedItem. Prices and stock are compared
per SKU from what the adapter read (prices in yuan, as Decimal); every other field of the
intent is compared with the platform's record of it, by path: `props.材质`, `images[1]`,
`skus[X1-40].barcode` (a SKU list is matched by SKU code, not by position). Fields the
platform adds to its record are not ours to judge and are left alone.

Two values are the same when they mean the same on the wire: money as Decimal ("399.0"
is 399.00), and a number against text by its text, because a form-encoded wire
(TOP, Pinduoduo) turns text that reads as a number into one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.listing.adapters.shapes import SHAPES, Shape
from engine.listing.marketplace import ListedItem

__all__ = ["Difference", "ReadbackReport", "compare", "report"]


@dataclass(frozen=True)
class Difference:
    """One field whose listed value is not the intended one; None stands for absent (a
    payload never holds None: an absent master value leaves the field out)."""

    field: str
    intended: Any
    listed: Any

    def __str__(self) -> str:
        return f"{self.field}: intended {self.intended!r}, listed {self.listed!r}"


@dataclass(frozen=True)
class ReadbackReport:
    """The read-back of a batch: accuracy is the share of items whose read-back equals
    the intent (an item the platform does not hold counts as not equal)."""

    items: int
    equal: int
    accuracy: float
    differences: list[tuple[str, Difference]]
    missing: list[str]
    throughput_per_s: float


def compare(intended: Mapping[str, Any], item: ListedItem | None) -> list[Difference]:
    """Every field where the platform's item differs from the payload sent; [] when it
    holds exactly what was sent. No item at all is one difference, on `item`."""
    if item is None:
        return [Difference("item", "listed", None)]
    shape = SHAPES[item.platform]
    found: list[Difference] = []
    if intended.get(shape.title) != item.title:
        found.append(Difference(shape.title, intended.get(shape.title), item.title))
    found.extend(_per_sku(shape, intended, item))
    # The title and the SKU list are compared above; the rest is the payload's fields.
    skipped = {shape.title, shape.skus}
    money = {name for name in (shape.item_price, *shape.sku_price) if name}
    for key, value in intended.items():
        if key not in skipped:
            found.extend(_diff(key, value, item.payload.get(key), money, top_level=True))
    return found


def report(
    pairs: Iterable[tuple[str, Mapping[str, Any], ListedItem | None]], seconds: float
) -> ReadbackReport:
    """The read-back of every (key, payload sent, item read) and the throughput of the
    batch that took `seconds` (0 when it was not timed)."""
    if seconds < 0:
        raise ValueError(f"seconds is {seconds}: a duration is not negative")
    items = equal = 0
    differences: list[tuple[str, Difference]] = []
    missing: list[str] = []
    for key, intended, item in pairs:
        items += 1
        if item is None:
            missing.append(key)
            continue
        found = compare(intended, item)
        if found:
            differences.extend((key, d) for d in found)
        else:
            equal += 1
    return ReadbackReport(
        items=items,
        equal=equal,
        accuracy=equal / items if items else 1.0,
        differences=differences,
        missing=missing,
        throughput_per_s=items / seconds if seconds > 0 else 0.0,
    )


# --- per SKU ----------------------------------------------------------------------------


def _skus(shape: Shape, payload: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    skus = payload.get(shape.skus)
    if not isinstance(skus, list):
        return {}
    return {
        str(s[shape.sku_code]): s
        for s in skus
        if isinstance(s, Mapping) and s.get(shape.sku_code) is not None
    }


def _yuan(shape: Shape, value: Any) -> Decimal | None:
    """A payload price in yuan; None when it is not a number (the schema would say so)."""
    try:
        price = Decimal(str(value))
    except InvalidOperation:
        return None
    return price / 100 if shape.fen else price


def _per_sku(shape: Shape, intended: Mapping[str, Any], item: ListedItem) -> list[Difference]:
    """Price and stock per SKU from what the adapter read; the other fields of each SKU
    element from the platform's record, matched by SKU code."""
    sent, held = _skus(shape, intended), _skus(shape, item.payload)
    price_field, stock_field = shape.sku_price[0], shape.sku_stock
    money = set(shape.sku_price)
    found: list[Difference] = []
    for code, sku in sent.items():
        where = f"{shape.skus}[{code}]"
        if code not in item.prices and code not in held:
            found.append(Difference(where, code, None))
            continue
        if price_field in sku:
            want, got = _yuan(shape, sku[price_field]), item.prices.get(code)
            if want is None or got is None or want != got:
                found.append(Difference(f"{where}.{price_field}", want, got))
        if stock_field in sku and _differs(sku[stock_field], item.stock.get(code), set()):
            found.append(
                Difference(f"{where}.{stock_field}", sku[stock_field], item.stock.get(code))
            )
        listed = held.get(code, {})
        for key, value in sku.items():
            if key not in (price_field, stock_field):
                found.extend(_diff(f"{where}.{key}", value, listed.get(key), money, key=key))
    found.extend(
        Difference(f"{shape.skus}[{code}]", None, code) for code in held if code not in sent
    )
    return found


# --- any field --------------------------------------------------------------------------


def _diff(
    path: str,
    want: Any,
    got: Any,
    money: set[str],
    *,
    top_level: bool = False,
    key: str | None = None,
) -> list[Difference]:
    """The differences under one field: objects key by key, lists (of equal length)
    position by position, anything else as one value."""
    name = path if top_level else key
    if isinstance(want, Mapping) and isinstance(got, Mapping):
        return [
            d
            for k, v in want.items()
            for d in _diff(f"{path}.{k}", v, got.get(k), money, key=str(k))
        ]
    if isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        return [
            d
            for i, (w, g) in enumerate(zip(want, got, strict=True))
            for d in _diff(f"{path}[{i}]", w, g, money)
        ]
    return [Difference(path, want, got)] if _differs(want, got, money, name) else []


def _number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _differs(want: Any, got: Any, money: set[str], name: str | None = None) -> bool:
    if name is not None and name in money:
        try:
            return Decimal(str(want)) != Decimal(str(got))
        except InvalidOperation:
            pass  # not money after all: compared as it is
    if _number(want) and isinstance(got, str):
        return str(want) != got
    if isinstance(want, str) and _number(got):
        return want != str(got)
    # bool is an int in Python: True must not pass for 1.
    if isinstance(want, bool) != isinstance(got, bool):
        return True
    return bool(want != got)
