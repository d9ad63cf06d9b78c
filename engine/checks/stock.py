"""The units behind a listing: what a fresh snapshot can ship and what a plan promises,
as arrays over the snapshot's index (every SKU by every shop).

Two measures of stock, on purpose far apart:
- `now`: free to ship today (on hand less locked, reserved, defective, pending review
  and unpaid, in sellable warehouses that supply the shop);
- `ceiling`: everything any rule could count (on hand less defective, plus stock in
  transit, plus the plan's virtual units, plus bundles that components can make).
A listing above `ceiling` oversells whatever the rules; one with nothing `now` is dead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from engine.core.errors import InputError, Issue
from engine.core.index import I64, SnapshotIndex
from engine.core.plan import Plan

HELD = ("locked", "reserved", "defective", "pending_review", "unpaid")
INCOMING = ("in_transit", "purchase_in_transit", "transfer_in_transit")


@dataclass(frozen=True)
class StockArrays:
    """Units of each SKU, per shop ([sku, shop]: the warehouses that supply the shop)
    and in all ([sku]: every sellable warehouse), the plan's virtual units included."""

    now: I64  # [sku, shop]
    ceiling: I64  # [sku, shop]
    sku_now: I64  # [sku]
    sku_ceiling: I64  # [sku]

    @classmethod
    def of(cls, index: SnapshotIndex, virtual: I64) -> StockArrays:
        sellable = index.wh_sellable
        b = index.stock
        held = sum((b[name] for name in HELD), np.zeros_like(b["on_hand"]))
        free = np.maximum(b["on_hand"] - held, 0) * sellable
        incoming = sum((b[name] for name in INCOMING), np.zeros_like(b["on_hand"]))
        reachable = (np.maximum(b["on_hand"] - b["defective"], 0) + incoming) * sellable
        supplies = (index.shop_wh & sellable).T.astype(np.int64)  # [warehouse, shop]
        per_shop = virtual[:, None]
        ceiling = _with_bundles(index, reachable @ supplies + per_shop)
        sku_ceiling = _with_bundles(index, reachable.sum(axis=1) + virtual)
        return cls(free @ supplies + per_shop, ceiling, free.sum(axis=1) + virtual, sku_ceiling)


def _with_bundles(index: SnapshotIndex, ceiling: I64) -> I64:
    """`ceiling` plus, for each bundle, the sets its components' ceilings make. One pass:
    snapshot validation refuses a bundle among a bundle's components."""
    bundle, component, qty = index.bundle_rows
    if bundle.size == 0:
        return ceiling
    bundles = np.unique(bundle)
    makes = np.full((index.n_skus, *ceiling.shape[1:]), np.iinfo(np.int64).max)
    sets = ceiling[component] // (qty[:, None] if ceiling.ndim == 2 else qty)
    np.minimum.at(makes, bundle, sets)
    grown = ceiling.copy()
    grown[bundles] += makes[bundles]
    return grown


@dataclass(frozen=True)
class PlanView:
    """What the latest published plan gives each cell of the snapshot's index."""

    allowance: I64  # per cell: exclusive plus shared units
    shared: I64  # per cell
    virtual: I64  # per SKU

    @classmethod
    def of(cls, plan: Plan, index: SnapshotIndex) -> PlanView:
        allocations = ((a.sku, a.shop, a.quantity, a.shared) for a in plan.allocations)
        return cls.of_rows(allocations, ((p.sku, p.virtual) for p in plan.skus), index)

    @classmethod
    def of_rows(
        cls,
        allocations: Iterable[tuple[str, str, int, int]],
        virtual: Iterable[tuple[str, int]],
        index: SnapshotIndex,
    ) -> PlanView:
        """From (sku, shop, quantity, shared) and (sku, virtual) rows - a plan model's or
        a stored plan document's; a SKU or shop the snapshot lacks is an input error
        naming the allocation."""
        rows = list(allocations)
        issues = []
        for i, (sku, shop, _, _) in enumerate(rows):
            if sku not in index.sku_pos:
                issues.append(Issue(f"plan.allocations[{i}].sku", f"unknown SKU {sku!r}"))
            if shop not in index.shop_pos:
                issues.append(Issue(f"plan.allocations[{i}].shop", f"unknown shop {shop!r}"))
        if issues:
            raise InputError(issues[:20])
        n = index.n_cells
        allowance, shared = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
        if rows:
            skus = np.array([index.sku_pos[r[0]] for r in rows], dtype=np.int64)
            shops = np.array([index.shop_pos[r[1]] for r in rows], dtype=np.int64)
            cells = index.cells_of(skus, shops)
            given = np.array([r[2] + r[3] for r in rows], dtype=np.int64)
            kept = cells >= 0  # a pair across brands is no cell: no listing checks it
            allowance[cells[kept]] = given[kept]
            shared[cells[kept]] = np.array([r[3] for r in rows], dtype=np.int64)[kept]
        extra = np.zeros(index.n_skus, dtype=np.int64)
        for sku, units in virtual:
            if units and sku in index.sku_pos:
                extra[index.sku_pos[sku]] = units
        return cls(allowance, shared, extra)

    def promised(self, index: SnapshotIndex) -> I64:
        """Per SKU, the units the plan lists in all, its shared part counted once."""
        own = np.zeros(index.n_skus, dtype=np.int64)
        np.add.at(own, index.cell_sku, self.allowance - self.shared)
        once = np.zeros(index.n_skus, dtype=np.int64)
        np.maximum.at(once, index.cell_sku, self.shared)
        return own + once
