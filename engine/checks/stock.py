"""The units behind a listing: what a fresh snapshot can ship and what a plan promises.

Two measures of stock, on purpose far apart:
- `now`: free to ship today (on hand less locked, reserved, defective, pending review
  and unpaid, in sellable warehouses that supply the shop);
- `ceiling`: everything any rule could count (on hand less defective, plus stock in
  transit, plus the plan's virtual units, plus bundles that components can make).
A listing above `ceiling` oversells whatever the rules; one with nothing `now` is dead.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from engine.core.errors import InputError, Issue
from engine.core.plan import Plan
from engine.core.snapshot import Snapshot, StockRow


@dataclass(frozen=True)
class Units:
    now: int
    ceiling: int


def _free(row: StockRow) -> int:
    held = row.locked + row.reserved + row.defective + row.pending_review + row.unpaid
    return max(row.on_hand - held, 0)


def _reachable(row: StockRow) -> int:
    incoming = row.in_transit + row.purchase_in_transit + row.transfer_in_transit
    return max(row.on_hand - row.defective, 0) + incoming


class StockView:
    """Units per SKU, per SKU and shop, from a snapshot (and the plan's virtual units)."""

    def __init__(self, snapshot: Snapshot, virtual: dict[str, int] | None = None) -> None:
        sellable = {w.id for w in snapshot.warehouses if w.supplies_by_default}
        self.virtual = virtual or {}
        self.components = {s.id: s.components for s in snapshot.skus if s.components}
        self.supply = {
            s.id: set(s.warehouses) if s.warehouses else sellable for s in snapshot.shops
        }
        self.supply = {shop: whs & sellable for shop, whs in self.supply.items()}
        self.rows: dict[str, list[StockRow]] = defaultdict(list)
        for row in snapshot.stock:
            if row.warehouse in sellable:
                self.rows[row.sku].append(row)

    def units(self, sku: str, shop: str | None = None) -> Units:
        """For one shop (its supplying warehouses) or, without a shop, for the SKU."""
        rows = [r for r in self.rows[sku] if shop is None or r.warehouse in self.supply[shop]]
        now = sum(_free(r) for r in rows) + self.virtual.get(sku, 0)
        ceiling = sum(_reachable(r) for r in rows) + self.virtual.get(sku, 0)
        parts = self.components.get(sku)
        if parts:
            ceiling += min(self.units(c.sku, shop).ceiling // c.qty for c in parts)
        return Units(now, ceiling)


@dataclass(frozen=True)
class PlanView:
    """What the latest published plan gives each (SKU, shop)."""

    allowance: dict[tuple[str, str], int]  # exclusive plus shared units
    shared: dict[tuple[str, str], int]
    virtual: dict[str, int]

    @classmethod
    def of(cls, plan: Plan, snapshot: Snapshot) -> PlanView:
        skus, shops = {s.id for s in snapshot.skus}, {s.id for s in snapshot.shops}
        issues = []
        for i, a in enumerate(plan.allocations):
            if a.sku not in skus:
                issues.append(Issue(f"plan.allocations[{i}].sku", f"unknown SKU {a.sku!r}"))
            if a.shop not in shops:
                issues.append(Issue(f"plan.allocations[{i}].shop", f"unknown shop {a.shop!r}"))
        if issues:
            raise InputError(issues[:20])
        return cls(
            allowance={(a.sku, a.shop): a.quantity + a.shared for a in plan.allocations},
            shared={(a.sku, a.shop): a.shared for a in plan.allocations if a.shared},
            virtual={p.sku: p.virtual for p in plan.skus if p.virtual},
        )

    def promised(self, sku: str, shops: list[str]) -> int:
        """Units of the SKU the plan lists in all, its shared part counted once."""
        shared = max((self.shared.get((sku, s), 0) for s in shops), default=0)
        given = sum(self.allowance.get((sku, s), 0) - self.shared.get((sku, s), 0) for s in shops)
        return given + shared
