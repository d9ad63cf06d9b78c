"""A shop's view built from the snapshot and plan models row by row, as first written:
the reference the index-built view (engine/shelf/from_plan.py) is held to on random
snapshots and plans (tests/shelf/test_from_plan_index.py). The shelf and selection are
then made from either view by the same functions."""

from __future__ import annotations

from collections import defaultdict

from engine.core.errors import InputError, Issue
from engine.core.plan import Plan
from engine.core.snapshot import Snapshot
from engine.shelf import from_plan


class ShopView(from_plan.ShopView):
    """The snapshot and plan rows of one shop's brand, read off the models."""

    def __init__(self, snapshot: Snapshot, plan: Plan, shop: str) -> None:
        shops = {s.id: s for s in snapshot.shops}
        if shop not in shops:
            known = ", ".join(sorted(shops))
            raise InputError([Issue("shop", f"unknown shop {shop!r} (known: {known})")])
        self.shop = shop
        brand = shops[shop].brand
        self.skus = {s.id: s for s in snapshot.skus if s.brand == brand}  # type: ignore[misc]
        self.brand_shops = sorted(s.id for s in snapshot.shops if s.brand == brand)
        self.velocity: dict[tuple[str, str], float] = {
            (v.sku, v.shop): v.units_per_day for v in snapshot.velocity if v.sku in self.skus
        }
        self.listed = {r.sku for r in snapshot.listed if r.shop == shop}
        all_skus = {s.id for s in snapshot.skus}
        unknown = sorted({a.sku for a in plan.allocations} - all_skus)
        if unknown:
            shown = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
            message = f"the plan names {len(unknown)} SKU(s) the snapshot lacks: {shown}"
            raise InputError([Issue("plan", message)])
        self.planned: dict[str, int] = defaultdict(int)
        given: dict[str, int] = defaultdict(int)
        shared: dict[str, int] = defaultdict(int)
        for a in plan.allocations:
            if a.sku in self.skus:
                given[a.sku] += a.quantity
                shared[a.sku] = max(shared[a.sku], a.shared)
                if a.shop == shop:
                    self.planned[a.sku] = a.quantity + a.shared
        # Pool units no shop was given, which any shop could still list.
        self.idle = {
            p.sku: max(p.pool - given[p.sku] - shared[p.sku], 0)
            for p in plan.skus
            if p.sku in self.skus
        }
