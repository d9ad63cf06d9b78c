"""Ranking and selection inputs for one shop, built from a snapshot and its plan.

What the snapshot does not hold is derived, and said so in the README:
- candidates: the products listed on the shop (all it sells or holds, before any listing);
- stock: the plan's units for the shop (exclusive plus shared);
- restock: a SKU tagged `clearance` is being sold off and is never restocked; others
  are, after the rules' `restock_days`;
- the current shelf: the snapshot has no slot order, so the shop's products are taken
  to stand in order of sales value per day (velocity x price), which is how a shelf
  looks before stock is considered.
"""

from __future__ import annotations

from collections import defaultdict

from engine.core.errors import InputError, Issue
from engine.core.plan import Plan
from engine.core.snapshot import Snapshot
from engine.shelf.inputs import ShelfInput, ShelfRules
from engine.shelf.selection import SelectionInput

NO_RESTOCK_TAG = "clearance"
NEW_TAG = "new"


class ShopView:
    """The snapshot and plan rows of one shop's brand."""

    def __init__(self, snapshot: Snapshot, plan: Plan, shop: str) -> None:
        shops = {s.id: s for s in snapshot.shops}
        if shop not in shops:
            known = ", ".join(sorted(shops))
            raise InputError([Issue("shop", f"unknown shop {shop!r} (known: {known})")])
        self.shop = shop
        brand = shops[shop].brand
        self.skus = {s.id: s for s in snapshot.skus if s.brand == brand}
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

    def shop_factors(self) -> dict[str, float]:
        """This shop's velocity per unit of another shop's, over the SKUs both sell."""
        factors = {}
        for other in self.brand_shops:
            if other == self.shop:
                continue
            here = there = 0.0
            for sku in self.skus:
                a, b = self.velocity.get((sku, self.shop), 0.0), self.velocity.get((sku, other))
                if a > 0 and b:
                    here, there = here + a, there + b
            factors[other] = round(here / there, 4) if here > 0 and there > 0 else 1.0
        return factors


def shelf_from_plan(
    snapshot: Snapshot, plan: Plan, shop: str, slots: int = 20, rules: ShelfRules | None = None
) -> ShelfInput:
    view = ShopView(snapshot, plan, shop)
    rows = []
    for sku in view.skus.values():
        velocity = view.velocity.get((sku.id, shop), 0.0)
        stock = view.planned.get(sku.id, 0)
        # A shelf shows listed products; a shop with no listings yet shows what it could.
        shown = sku.id in view.listed if view.listed else velocity > 0 or stock > 0
        if shown:
            rows.append((velocity * float(sku.price), sku, velocity, stock))
    rows.sort(key=lambda r: (-r[0], r[1].id))
    products = []
    for k, (_, sku, velocity, stock) in enumerate(rows):
        product = {
            "id": sku.id,
            "velocity": velocity,
            "price": format(sku.price, "f"),
            "stock": stock,
            "category": sku.category,
            "new": NEW_TAG in sku.tags,
            "position": k + 1 if k < slots else None,
        }
        if NO_RESTOCK_TAG in sku.tags:
            product["restockable"] = False
        products.append(product)
    rules_data = rules.model_dump(exclude_unset=True) if rules is not None else {}
    return ShelfInput.model_validate(
        {"shop": shop, "slots": slots, "products": products, "rules": rules_data}
    )


def selection_from_plan(
    snapshot: Snapshot,
    plan: Plan,
    shop: str,
    listing_limit: int | None = None,
    max_per_category: int | None = None,
) -> SelectionInput:
    """Candidates: the brand's SKUs not listed on the shop; stock: what the plan gives
    the shop plus the SKU's idle pool units."""
    view = ShopView(snapshot, plan, shop)
    candidates = []
    for sku in view.skus.values():
        if sku.id in view.listed:
            continue
        elsewhere = {
            other: v
            for other in view.brand_shops
            if other != shop and (v := view.velocity.get((sku.id, other), 0.0)) > 0
        }
        candidates.append(
            {
                "id": sku.id,
                "category": sku.category,
                "price": format(sku.price, "f"),
                "stock": view.planned.get(sku.id, 0) + view.idle.get(sku.id, 0),
                "velocity_elsewhere": elsewhere,
            }
        )
    listed = sorted(view.listed)
    limit = listing_limit if listing_limit is not None else len(listed) + 10
    return SelectionInput.model_validate(
        {
            "shop": shop,
            "listing_limit": limit,
            "listed": listed,
            "shop_factors": view.shop_factors(),
            "max_per_category": max_per_category,
            "candidates": candidates,
        }
    )
