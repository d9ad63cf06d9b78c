"""The snapshot of interchange format v1: what the engine plans from.

Field checks are pydantic's; the cross-reference checks (duplicates, dangling ids,
bundles, brands) run once every field is valid, and report every issue at once as an
InputError, so no Snapshot object exists that refers to something it does not hold.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from operator import attrgetter
from typing import Annotated, Any, Literal, TypeVar

import numpy as np
from numpy.typing import NDArray
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StrictBool,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

from engine.core.errors import InputError, Issue
from engine.core.limits import (
    MAX_BUNDLE_QTY,
    MAX_MONEY,
    MAX_PRIORITY,
    MAX_UNITS,
    MAX_VELOCITY,
    MONEY_PLACES,
)
from engine.core.modes import Mode

Id = Annotated[str, StringConstraints(strict=True, min_length=1)]
# Every number of a snapshot is bounded: engine/core/limits.py says why each bound keeps
# the compile step exact.
Units = Annotated[int, Field(strict=True, ge=0, le=MAX_UNITS)]
Velocity = Annotated[float, Field(strict=True, ge=0, le=MAX_VELOCITY, allow_inf_nan=False)]
WarehouseKind = Literal["sellable", "defect", "returns", "qc", "virtual"]

_MONEY = re.compile(rf"[0-9]+(\.[0-9]{{1,{MONEY_PLACES}}})?")


def _parse_money(value: Any) -> Decimal:
    # Floats are refused because 0.1 + 0.2 style drift would reach stock values and
    # budgets; ints are exact, so they are accepted as whole amounts. More decimals than
    # fen would be cut off where prices become whole fen.
    whole = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    if not (whole or isinstance(value, str) and _MONEY.fullmatch(value)):
        raise PydanticCustomError(
            "money",
            "money is a decimal string >= 0 with at most {places} decimals, such as '399.00'",
            {"places": MONEY_PLACES},
        )
    money = Decimal(value)
    if money > MAX_MONEY:
        raise PydanticCustomError(
            "money_too_large", "money is at most {limit}", {"limit": f"{MAX_MONEY:.0f}"}
        )
    return money


# Fixed-point text: str(Decimal) would write '1E-7', which the parser above refuses.
Money = Annotated[
    Decimal,
    PlainValidator(_parse_money, json_schema_input_type=str | int),
    PlainSerializer(lambda value: format(value, "f"), return_type=str, when_used="json"),
]


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Brand(_Item):
    id: Id
    name: str


class Warehouse(_Item):
    id: Id
    kind: WarehouseKind = "sellable"
    name: str | None = None

    @property
    def supplies_by_default(self) -> bool:
        """Only sellable stock feeds the pool unless a rule says otherwise."""
        return self.kind == "sellable"


class Shop(_Item):
    id: Id
    brand: Id
    platform: Annotated[str, StringConstraints(strict=True, pattern=r"^[a-z]+$")]
    priority: Annotated[int, Field(strict=True, ge=0, le=MAX_PRIORITY)] = 100
    warehouses: list[Id] | None = None  # None: every warehouse supplies the shop


class Component(_Item):
    sku: Id
    qty: Annotated[int, Field(strict=True, ge=1, le=MAX_BUNDLE_QTY)]


class Sku(_Item):
    id: Id
    brand: Id
    category: str = ""
    tags: list[str] = []
    price: Money
    components: list[Component] = []

    @property
    def is_bundle(self) -> bool:
        return bool(self.components)


class StockRow(_Item):
    sku: Id
    warehouse: Id
    on_hand: Units
    locked: Units = 0
    reserved: Units = 0
    defective: Units = 0
    in_transit: Units = 0
    pending_review: Units = 0
    unpaid: Units = 0
    purchase_in_transit: Units = 0
    transfer_in_transit: Units = 0


class VelocityRow(_Item):
    sku: Id
    shop: Id
    units_per_day: Velocity


class ListedRow(_Item):
    sku: Id
    shop: Id
    quantity: Units


# A history row covers at most a year of days: the estimator's [cells, days] arrays are
# as wide as the oldest row reaches back, so no row may reach back further than this.
MAX_HISTORY_DAYS = 366


class HistoryRow(_Item):
    """Daily sales of one SKU on one shop, from `start` on, one entry a day. `listed`
    (the quantity listed that day) and `out_of_stock` say which days the listing ran
    out: those days' sales are a lower bound of demand, not demand."""

    sku: Id
    shop: Id
    start: date
    units: Annotated[list[Units], Field(min_length=1, max_length=MAX_HISTORY_DAYS)]
    listed: Annotated[list[Units], Field(max_length=MAX_HISTORY_DAYS)] | None = None
    out_of_stock: Annotated[list[StrictBool], Field(max_length=MAX_HISTORY_DAYS)] | None = None

    @property
    def end(self) -> date:
        """The last day the row covers."""
        return self.start + timedelta(days=len(self.units) - 1)


class Snapshot(_Item):
    tenant: Id
    as_of: AwareDatetime
    mode: Mode = "normal"
    brands: list[Brand]
    warehouses: list[Warehouse]
    shops: list[Shop]
    skus: list[Sku]
    stock: list[StockRow]
    velocity: list[VelocityRow] = []
    listed: list[ListedRow] = []
    # A snapshot without history is written as before the section existed: its input
    # hash (sha256 of this dump) stays what it was.
    history: list[HistoryRow] = Field(default=[], exclude_if=lambda rows: not rows)

    @model_validator(mode="after")
    def _references_hold(self) -> Snapshot:
        # InputError is not a ValueError, so pydantic lets it through unwrapped and the
        # issues keep their own paths.
        issues = cross_reference_issues(self)
        if issues:
            raise InputError(issues)
        return self


def _duplicates(section: str, keys: list[Any], field: str, what: str) -> list[Issue]:
    """One issue per repeat of a key, naming where the key was first seen."""
    first: dict[Any, int] = {}
    issues = []
    for index, key in enumerate(keys):
        seen = first.setdefault(key, index)
        if seen != index:
            name = what.format(*key) if isinstance(key, tuple) else what.format(key)
            where = f"(first at {section}[{seen}])"
            issues.append(Issue(f"{section}[{index}]{field}", f"duplicate {name} {where}"))
    return issues


_T = TypeVar("_T", Brand, Warehouse, Shop, Sku)


def _by_id(items: Iterable[_T]) -> dict[str, _T]:
    """Lookup by id where the first of duplicated ids wins, as the duplicate issues say."""
    found: dict[str, _T] = {}
    for item in items:
        found.setdefault(item.id, item)
    return found


def _unknown(path: str, kind: str, value: str, known: Mapping[str, Any]) -> list[Issue]:
    return [] if value in known else [Issue(path, f"unknown {kind} {value!r}")]


def _shop_row_issues(
    section: str,
    rows: Sequence[VelocityRow | ListedRow | HistoryRow],
    skus: Mapping[str, Sku],
    shops: Mapping[str, Shop],
    brands: Mapping[str, Brand],
) -> list[Issue]:
    """Per (SKU, shop) rows: no repeats, known ids, and the shop sells the SKU's brand."""
    sku_ids = list(map(attrgetter("sku"), rows))
    shop_ids = list(map(attrgetter("shop"), rows))
    keys = list(zip(sku_ids, shop_ids, strict=True))
    # One pass of C-level lookups first (a history has a row per cell): the row by row
    # search below runs only where something is wrong.
    if (
        len(set(keys)) == len(keys)
        and all(map(skus.__contains__, sku_ids))
        and all(map(shops.__contains__, shop_ids))
    ):
        of_sku = {k: v.brand for k, v in skus.items()}
        of_shop = {k: v.brand for k, v in shops.items()}
        if list(map(of_sku.__getitem__, sku_ids)) == list(map(of_shop.__getitem__, shop_ids)):
            return []
    issues = _duplicates(section, keys, "", "row for SKU {!r} on shop {!r}")
    for i, row in enumerate(rows):
        found = _unknown(f"{section}[{i}].sku", "SKU", row.sku, skus)
        found += _unknown(f"{section}[{i}].shop", "shop", row.shop, shops)
        issues += found
        if found:
            continue
        sku_brand, shop_brand = skus[row.sku].brand, shops[row.shop].brand
        # An unknown brand is reported once, on the SKU or shop, not again on each row.
        if sku_brand != shop_brand and sku_brand in brands and shop_brand in brands:
            message = (
                f"shop {row.shop!r} is of brand {shop_brand!r}"
                f" but SKU {row.sku!r} is of brand {sku_brand!r}"
            )
            issues.append(Issue(f"{section}[{i}].shop", message))
    return issues


def _bundle_issues(index: int, sku: Sku, skus: Mapping[str, Sku]) -> list[Issue]:
    """Bundles are one level deep: a component is a plain SKU, never the bundle itself."""
    issues = _duplicates(
        f"skus[{index}].components", [c.sku for c in sku.components], ".sku", "component {!r}"
    )
    for j, comp in enumerate(sku.components):
        path = f"skus[{index}].components[{j}].sku"
        if comp.sku == sku.id:
            issues.append(Issue(path, f"bundle {sku.id!r} lists itself as a component"))
        elif comp.sku not in skus:
            issues += _unknown(path, "SKU", comp.sku, skus)
        elif skus[comp.sku].is_bundle:
            issues.append(Issue(path, f"component {comp.sku!r} is itself a bundle"))
    return issues


def _lengths(lists: list[Any]) -> NDArray[np.int64]:
    return np.fromiter(map(len, lists), np.int64, len(lists))


def cross_reference_issues(snapshot: Snapshot) -> list[Issue]:
    """Every inconsistency between the sections of a field-valid snapshot."""
    brands, warehouses = _by_id(snapshot.brands), _by_id(snapshot.warehouses)
    shops, skus = _by_id(snapshot.shops), _by_id(snapshot.skus)
    issues: list[Issue] = []
    for section, ids in (
        ("brands", [b.id for b in snapshot.brands]),
        ("warehouses", [w.id for w in snapshot.warehouses]),
        ("shops", [s.id for s in snapshot.shops]),
        ("skus", [s.id for s in snapshot.skus]),
    ):
        issues += _duplicates(section, ids, ".id", "id {!r}")

    for i, shop in enumerate(snapshot.shops):
        issues += _unknown(f"shops[{i}].brand", "brand", shop.brand, brands)
        supply = shop.warehouses or []
        issues += _duplicates(f"shops[{i}].warehouses", supply, "", "warehouse {!r}")
        for j, wh in enumerate(supply):
            issues += _unknown(f"shops[{i}].warehouses[{j}]", "warehouse", wh, warehouses)
    for i, sku in enumerate(snapshot.skus):
        issues += _unknown(f"skus[{i}].brand", "brand", sku.brand, brands)
        issues += _bundle_issues(i, sku, skus)

    stock_keys = [(r.sku, r.warehouse) for r in snapshot.stock]
    issues += _duplicates("stock", stock_keys, "", "row for SKU {!r} in warehouse {!r}")
    for i, stock in enumerate(snapshot.stock):
        issues += _unknown(f"stock[{i}].sku", "SKU", stock.sku, skus)
        issues += _unknown(f"stock[{i}].warehouse", "warehouse", stock.warehouse, warehouses)

    issues += _shop_row_issues("velocity", snapshot.velocity, skus, shops, brands)
    issues += _shop_row_issues("listed", snapshot.listed, skus, shops, brands)
    issues += _shop_row_issues("history", snapshot.history, skus, shops, brands)
    issues += history_day_issues(snapshot.history, snapshot.as_of.date())
    return issues


def _shown_day(start: date, days: int) -> str:
    """`start` + `days` as text, or past the calendar's end."""
    try:
        return str(start + timedelta(days=days))
    except OverflowError:
        return f"{days} days after {start} (after {date.max})"


def history_day_issues(rows: Sequence[HistoryRow], as_of: date) -> list[Issue]:
    """Each row's arrays of one length, its days within the year before `as_of`."""
    issues: list[Issue] = []
    # Found with arrays, then told row by row for the rows at fault.
    starts = list(map(attrgetter("start"), rows))
    offset = {day: (day - as_of).days for day in set(starts)}
    start = np.fromiter(map(offset.__getitem__, starts), np.int64, len(rows))
    length = _lengths([r.units for r in rows])
    wrong = (start < -MAX_HISTORY_DAYS) | (start + length > 0)
    for name in ("listed", "out_of_stock"):
        values = [getattr(r, name) for r in rows]
        given = np.fromiter((v is not None for v in values), bool, len(rows))
        wrong |= given & (_lengths([v or [] for v in values]) != length)
    for i in map(int, np.flatnonzero(wrong)):
        row = rows[i]
        days = len(row.units)
        for name in ("listed", "out_of_stock"):
            values = getattr(row, name)
            if values is not None and len(values) != days:
                message = f"has {len(values)} days but units has {days}"
                issues.append(Issue(f"history[{i}].{name}", message))
        # By day offsets from as_of, not dates: a date near year 1 or 9999 give or take
        # a year is out of the calendar's range (found by fuzzing the API).
        if start[i] < -MAX_HISTORY_DAYS:
            message = f"{row.start} is more than {MAX_HISTORY_DAYS} days before as_of {as_of}"
            issues.append(Issue(f"history[{i}].start", message))
        if start[i] + days > 0:
            message = (
                f"the last day {_shown_day(row.start, days - 1)} ({days} days from "
                f"{row.start}) is not before as_of {as_of}"
            )
            issues.append(Issue(f"history[{i}].units", message))
    return issues
