"""Listed stock read back from the platforms, for the two-way check and for drift.

`omnistock check` (engine/checks/two_way.py) reads a snapshot's `listed` section: the
units each shop shows of each SKU, a missing row meaning 0. `listed_rows` makes that
section from the items a shop's adapter reads back, so the check compares the plan and
the stock with what the platforms really hold rather than with what we think we sent.

What a shop shows of a SKU:

- an item delisted or rejected shows 0 of its SKUs: buyers cannot order from it. An item
  accepted or in review counts its units: review may pass at any moment, and the item
  then sells what the platform holds;
- a SKU on several items of one shop shows their sum: each item takes orders against its
  own number, so together they can sell that many (what the check's oversell warnings
  are about).

`drift` compares the same rows with what we meant the platforms to hold and says, cell by
cell, the plainest reason the two differ.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from engine.core.errors import InputError, Issue
from engine.core.limits import MAX_UNITS
from engine.core.snapshot import ListedRow, Snapshot
from engine.listing.marketplace import ListedItem, Status
from engine.listing.stockpush import UNCHANGED, Cell, Held

__all__ = ["Drift", "drift", "listed_rows", "with_listed"]

# Items buyers cannot order from: their SKUs are listed with 0 units.
OFF_SALE = frozenset({Status.DELISTED, Status.REJECTED})

NOT_SENT = "not sent yet (held: {reason})"
NO_ITEM = "the platform lists no item of the shop with this SKU"
MORE = "platform shows more than sent: an update was lost, or it was raised there"
LESS = "platform shows less than sent: sold since the push, or lowered there"
NEVER_SENT = "platform lists units we never sent"


@dataclass(frozen=True)
class Drift:
    """A cell where the platform's number is not the one we meant it to hold."""

    shop: str
    sku: str
    intended: int | None  # None: we never meant to send this cell anything
    listed: int
    explanation: str


def listed_rows(
    items: Iterable[ListedItem], shops: Collection[str] | None = None
) -> list[ListedRow]:
    """The snapshot's `listed` rows of the items read (of `shops` only, when given): one
    row per (SKU, shop) of every SKU of every item, 0 for items off sale, the sum for a
    SKU on several items. Rows come in order of shop and SKU. A platform number that
    cannot be a listing (negative, or past the snapshot's bound) is an InputError naming
    the shop, item and SKU."""
    totals: dict[Cell, int] = {}
    issues: list[Issue] = []
    for item in items:
        if shops is not None and item.shop_id not in shops:
            continue
        counts = item.state.status not in OFF_SALE
        for sku, units in item.stock.items():
            where = f"{item.shop_id}/{item.outer_id}.stock[{sku}]"
            if not sku:
                issues.append(Issue(where, "a SKU without a code"))
            elif units < 0:
                issues.append(Issue(where, f"{units} units: a listing is not negative"))
            key = (item.shop_id, sku)
            totals[key] = totals.get(key, 0) + (units if counts else 0)
    issues.extend(
        Issue(f"{shop}.stock[{sku}]", f"{units} units listed in all: at most {MAX_UNITS}")
        for (shop, sku), units in totals.items()
        if units > MAX_UNITS
    )
    if issues:
        raise InputError(issues, "listed read-back")
    return [
        ListedRow(sku=sku, shop=shop, quantity=units)
        for (shop, sku), units in sorted(totals.items())
    ]


def with_listed(
    snapshot: Snapshot, rows: Iterable[ListedRow], shops: Iterable[str] = ()
) -> Snapshot:
    """The snapshot whose listings of the shops read are `rows`: the listed rows of those
    shops are replaced (a SKU the shop no longer lists goes), every other shop's are kept.
    The shops read are those of the rows and `shops` (a shop read back with no item at
    all has no row to say so).

    A row the snapshot cannot hold - an unknown SKU or shop, a SKU of another brand than
    the shop, a cell twice - is an InputError naming `rows[i]`: filter the rows to the
    snapshot's SKUs first where the platforms list more than is planned."""
    new = list(rows)
    read = set(shops) | {r.shop for r in new}
    _check_rows(snapshot, new)
    kept = [r for r in snapshot.listed if r.shop not in read]
    listed = sorted(kept + new, key=lambda r: (r.shop, r.sku))
    return snapshot.model_copy(update={"listed": listed})


def drift(
    intended: Mapping[Cell, int],
    rows: Iterable[ListedRow],
    held: Iterable[Held] = (),
    shops: Collection[str] | None = None,
) -> list[Drift]:
    """Every cell where the platform's number (`rows`) is not the intended one, with
    why, in order of shop and SKU.

    `intended`: (shop, SKU) -> units: what was last sent, or a plan's numbers (quantity
    + shared), in which case `held` (a PushPlan's) explains the cells the push held back.
    A cell without a row counts as listed 0; pass `shops` to look at the shops read only.
    The explanation is the plainest one; the platform alone cannot tell a sale from a
    hand edit, so both are named."""
    listed = {(r.shop, r.sku): r.quantity for r in rows}
    holds = {(h.shop, h.sku): h for h in held}
    found: list[Drift] = []
    for cell in sorted(intended.keys() | listed.keys()):
        if shops is not None and cell[0] not in shops:
            continue
        want, got = intended.get(cell), listed.get(cell)
        units = got or 0
        if want == units or (want is None and units == 0):
            continue
        found.append(Drift(cell[0], cell[1], want, units, _why(want, got, holds.get(cell))))
    return found


def _why(want: int | None, got: int | None, hold: Held | None) -> str:
    units = got or 0
    if want is None:
        return NEVER_SENT
    if hold is not None and hold.reason != UNCHANGED and units == (hold.last or 0):
        return NOT_SENT.format(reason=hold.reason)
    if got is None:
        return NO_ITEM
    return MORE if units > want else LESS


def _check_rows(snapshot: Snapshot, rows: list[ListedRow]) -> None:
    skus = {s.id: s.brand for s in snapshot.skus}
    shops = {s.id: s.brand for s in snapshot.shops}
    first: dict[tuple[str, str], int] = {}
    issues: list[Issue] = []
    for i, row in enumerate(rows):
        seen = first.setdefault((row.shop, row.sku), i)
        if seen != i:
            message = f"SKU {row.sku!r} on shop {row.shop!r} again (first at rows[{seen}])"
            issues.append(Issue(f"rows[{i}]", message))
        if row.sku not in skus:
            issues.append(Issue(f"rows[{i}].sku", f"SKU {row.sku!r} is not in the snapshot"))
        if row.shop not in shops:
            issues.append(Issue(f"rows[{i}].shop", f"shop {row.shop!r} is not in the snapshot"))
        if row.sku in skus and row.shop in shops and skus[row.sku] != shops[row.shop]:
            message = (
                f"shop {row.shop!r} is of brand {shops[row.shop]!r}"
                f" but SKU {row.sku!r} is of brand {skus[row.sku]!r}"
            )
            issues.append(Issue(f"rows[{i}].shop", message))
    if issues:
        raise InputError(issues, f"listed rows for snapshot of {snapshot.tenant}")
