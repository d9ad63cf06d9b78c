"""The physical side of the simulation: which units exist, and where a sale takes them from.

The stock the simulation sells is what omnistock's own pool derivation (rules/supply.py,
pipeline steps 1-2, run on the same snapshot and ruleset) counts as sellable, per SKU
and warehouse:

- `sellable_wh`: the stock composition's sellable units in the warehouses that supply
  (on_hand minus locked, reserved, defective, ... plus the in-transit buckets a
  `stock_composition` rule counts; warehouses not of kind `sellable` or excluded by
  `exclude_warehouse` hold none);
- `locked_wh`: locked units a `shop_lock` rule (without `quantity`) gives back to the pool,
  pinned to its shop; they are as physical as the rest (all of the SKU's locked units in
  supplying warehouses, so never fewer than the pool step returns);
- `virtual`: units beyond stock (`virtual_stock`, `preorder_cap`): presale allowance. A
  sale against it is a presale, not an oversell; it is not physical stock.

Units the composition leaves out (reserved for open orders, defective, in a defect
warehouse) never sell in the simulation and are in none of its numbers. The physical
stock is always derived with the rules in force on day 0 (the planners see each day's).

The state is kept as the snapshot's own stock buckets: a sale from `sellable_wh` takes a
unit off `on_hand`; a sale of a locked unit takes it off `on_hand` and `locked`; an
arrival adds to `on_hand`. Any day's stock can then be planned from as it is, and the
derivation run on it gives back exactly the units the simulation tracks. (A sale of an
in-transit unit that a composition rule counts takes `on_hand` below zero in the
simulator's internal index: the composition's arithmetic stays exact.)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from engine.core.index import SnapshotIndex
from rules.bounds import apply_uplift
from rules.bundles import bundles_of
from rules.catalog import Kind, Ruleset, ShopLock
from rules.draft import Draft
from rules.references import check_references
from rules.supply import apply_pins, build_pool, cell_reach, sellable_by_warehouse, supplying

I64 = NDArray[np.int64]
Mask = NDArray[np.bool_]


@dataclass(frozen=True)
class Supply:
    """The pool derivation's view of one stock state (see the module docstring)."""

    sellable_wh: I64  # [sku, warehouse]
    locked_wh: I64  # [sku, warehouse]: locked units a shop_lock gives back to the pool
    pool_sellable: I64  # [sku]: the plan's skus[].sellable (reachable units + returned locks)
    virtual: I64  # [sku]: presale units
    reach: Mask  # [cell, warehouse]: the cell's shop may ship from the warehouse
    bundle: I64  # effective bundle rows (snapshot components, `bundle` rules applied)
    component: I64
    qty: I64

    @property
    def physical(self) -> I64:
        """Per SKU: units that exist and may sell."""
        return self.sellable_wh.sum(axis=1) + self.locked_wh.sum(axis=1)


def with_stock(
    index: SnapshotIndex, on_hand: I64, locked: I64, as_of: datetime | None = None
) -> SnapshotIndex:
    """The index with other on_hand and locked buckets (every other bucket as it was)."""
    stock = {**index.stock, "on_hand": on_hand, "locked": locked}
    return replace(index, stock=stock, as_of=as_of if as_of is not None else index.as_of)


def derive_supply(index: SnapshotIndex, ruleset: Ruleset) -> Supply:
    """Run the pool steps of the compile pipeline (uplift, pool, pins) on the index."""
    check_references(ruleset, index)
    d = Draft.start(index, ruleset, "normal")
    apply_uplift(d)  # velocities order presale and split named virtual stock
    by_wh, _ = build_pool(d)
    _, locked_taken = sellable_by_warehouse(d)
    apply_pins(d)
    # Locked units count where a shop_lock without `quantity` gives them back: every
    # locked unit of the SKU in a supplying warehouse, whether or not the pool step
    # reaches that warehouse today, so the physical stock never depends on the plan.
    lock_skus = np.zeros(index.n_skus, dtype=bool)
    for k in d.of_kind(Kind.LOCK):
        rule = d.rule(k)
        if isinstance(rule, ShopLock) and rule.quantity is None:
            lock_skus[index.cell_sku[d.cell_rule_mask(k, [rule.shop])]] = True
    locked_wh = np.where(supplying(d) & lock_skus[:, None], locked_taken, 0)
    rows = bundles_of(d)
    empty = np.zeros(0, dtype=np.int64)
    return Supply(
        sellable_wh=by_wh.astype(np.int64),
        locked_wh=locked_wh.astype(np.int64),
        pool_sellable=d.sellable.astype(np.int64),
        virtual=d.virtual.astype(np.int64),
        reach=cell_reach(d),
        bundle=rows.bundle if rows is not None else empty,
        component=rows.component if rows is not None else empty,
        qty=rows.qty if rows is not None else empty,
    )


def group_starts(group: I64) -> I64:
    """Per item, the position of its group's first item (items sorted by group)."""
    return np.searchsorted(group, group, side="left")


def cumulative(group: I64, values: I64, starts: I64 | None = None) -> I64:
    """Running sum of values within each group (items sorted by group); `starts` is
    `group_starts(group)`, for a caller that sums over the same groups many times."""
    cum = np.cumsum(values)
    first = group_starts(group) if starts is None else starts
    return cum - (cum - values)[first]


def take_items(group: I64, need: I64, avail: I64, starts: I64 | None = None) -> I64:
    """Items sorted by group take one after another from their group's `avail` (given
    per item, equal within a group): what each gets.

    The within-day rule that resolves contention: the first item of a group is served
    in full before the second gets anything, and so on (items come in cell order: SKU,
    then shop priority).
    """
    if need.size == 0:
        return need.copy()
    before = cumulative(group, need, starts) - need
    return np.clip(avail - before, 0, need)


def take_in_order(group: I64, need: I64, avail: I64) -> I64:
    """`take_items` with `avail` given per group."""
    return take_items(group, need, avail[group]) if need.size else need.copy()


def per_sku(group: I64, values: I64, n: int) -> I64:
    return np.bincount(group, weights=values, minlength=n).astype(np.int64)


@dataclass
class Served:
    taken: I64  # per item: physical units shipped
    left: I64  # per item: physical units the item's shop still reaches right after it


class Stock:
    """Mutable physical state of one replication (module docstring).

    A cell ships from the warehouses its shop reaches, in one order per SKU (the
    warehouse the fewest of the SKU's shops reach first, then by position), so shops
    that reach everything leave the stock of restricted shops for last; in a warehouse,
    sellable units first, then returned locked units. Serving cells of a SKU one
    after another in cell order, each from its warehouses in that order, is computed as
    one pass per warehouse rank over all cells (the same result, vectorised).
    """

    def __init__(self, index: SnapshotIndex, supply: Supply) -> None:
        self.on_hand = index.stock["on_hand"].copy()
        self.locked = index.stock["locked"].copy()
        self.sellable_wh = supply.sellable_wh.copy()
        self.locked_wh = supply.locked_wh.copy()
        self.reach = supply.reach
        self.n_skus = index.n_skus
        self.n_wh = len(index.wh_ids)
        shops_reaching = np.zeros((index.n_skus, self.n_wh), dtype=np.int64)
        np.add.at(shops_reaching, index.cell_sku, supply.reach.astype(np.int64))
        position = np.arange(self.n_wh)[None, :]
        self.rank = np.argsort(shops_reaching * (self.n_wh + 1) + position, axis=1, kind="stable")

    def reset(self, supply: Supply) -> None:
        """After arrivals: the derivation run on the new buckets is the new state."""
        self.sellable_wh = supply.sellable_wh.copy()
        self.locked_wh = supply.locked_wh.copy()

    @property
    def physical(self) -> I64:
        return self.sellable_wh.sum(axis=1) + self.locked_wh.sum(axis=1)

    def reachable(self, cells: I64, sku: I64) -> I64:
        """Per item: physical units of the SKU in the warehouses the cell's shop reaches."""
        units = self.sellable_wh[sku] + self.locked_wh[sku]
        return np.where(self.reach[cells], units, 0).sum(axis=1)

    def reachable_one(self, cell: int, sku: int) -> int:
        """`reachable` for one item."""
        units = self.sellable_wh[sku] + self.locked_wh[sku]
        return int((units * self.reach[cell]).sum())

    def reachable_at(self, cell: int, skus: I64) -> I64:
        """`reachable` for SKUs of one cell's shop (a bundle's components)."""
        units = self.sellable_wh[skus] + self.locked_wh[skus]
        return (units * self.reach[cell]).sum(axis=1)

    def serve_one(self, cell: int, sku: int, need: int) -> tuple[int, int]:
        """`serve` for one item, in plain integers: (taken, left). A bundle's orders come
        one cell at a time, where the array version's cost per call (a dozen array
        operations per warehouse) would be most of the day's trade."""
        taken = left = 0
        reach = self.reach[cell]
        for w in self.rank[sku].tolist():
            if not reach[w]:
                continue
            for table in (self.sellable_wh, self.locked_wh):
                avail = int(table[sku, w])
                got = min(max(avail, 0), need)
                left += avail - got
                if got:
                    table[sku, w] -= got
                    self.on_hand[sku, w] -= got
                    if table is self.locked_wh:
                        self.locked[sku, w] -= got
                    need -= got
                    taken += got
        return taken, left

    def serve(self, cells: I64, sku: I64, need: I64) -> Served:
        """Ship up to `need` per item (cells of SKUs `sku`, sorted by SKU, in cell order)
        from the warehouses each cell's shop reaches; what is missing is not shipped."""
        need = need.copy()
        taken = np.zeros_like(need)
        left = np.zeros_like(need)
        starts = group_starts(sku)
        for k in range(self.n_wh):
            w = self.rank[sku, k]
            ok = self.reach[cells, w]
            for table, locked in ((self.sellable_wh, False), (self.locked_wh, True)):
                avail = table[sku, w]
                got = take_items(sku, np.where(ok, need, 0), avail, starts)
                left += np.where(ok, avail - cumulative(sku, got, starts), 0)
                np.subtract.at(table, (sku, w), got)
                np.subtract.at(self.on_hand, (sku, w), got)
                if locked:
                    np.subtract.at(self.locked, (sku, w), got)
                need -= got
                taken += got
        return Served(taken=taken, left=left)
