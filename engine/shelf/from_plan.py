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
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from engine.core.errors import InputError, Issue
from engine.core.index import SnapshotIndex
from engine.core.plan import Plan
from engine.core.snapshot import Snapshot
from engine.shelf.inputs import ShelfInput, ShelfRules
from engine.shelf.selection import SelectionInput

NO_RESTOCK_TAG = "clearance"
NEW_TAG = "new"

Allocations = Iterable[tuple[str, str, int, int]]  # (sku, shop, quantity, shared)
Pools = Iterable[tuple[str, int]]  # (sku, pool)


@dataclass(frozen=True)
class SkuFacts:
    """What a shelf reads of one SKU."""

    id: str
    price: Decimal
    category: str
    tags: frozenset[str]


class ShopView:
    """The snapshot (as its index) and plan rows of one shop's brand."""

    def __init__(
        self, index: SnapshotIndex, allocations: Allocations, pools: Pools, shop: str
    ) -> None:
        if shop not in index.shop_pos:
            known = ", ".join(sorted(index.shop_ids))
            raise InputError([Issue("shop", f"unknown shop {shop!r} (known: {known})")])
        self.shop = shop
        brand = index.shop_brand[index.shop_pos[shop]]
        mine = np.flatnonzero(index.sku_brand == brand)
        tags = {i: frozenset(t for t, m in index.sku_tags.items() if m[i]) for i in mine}
        self.skus = {
            index.sku_ids[i]: SkuFacts(
                index.sku_ids[i],
                Decimal(int(index.price_cents[i])).scaleb(-2),
                index.categories[index.sku_category[i]],
                tags[i],
            )
            for i in mine
        }
        self.brand_shops = sorted(
            s for s, b in zip(index.shop_ids, index.shop_brand, strict=True) if b == brand
        )
        cells = np.flatnonzero(index.sku_brand[index.cell_sku] == brand)
        sku_of = [index.sku_ids[i] for i in index.cell_sku[cells]]
        shop_of = [index.shop_ids[h] for h in index.cell_shop[cells]]
        given = index.velocity_given[cells]
        velocity = index.velocity[cells]
        self.velocity: dict[tuple[str, str], float] = {
            (sku_of[k], shop_of[k]): float(velocity[k]) for k in np.flatnonzero(given)
        }
        listed = index.listed_given[cells]
        self.listed = {sku_of[k] for k in np.flatnonzero(listed) if shop_of[k] == shop}
        rows = list(allocations)
        unknown = sorted({sku for sku, *_ in rows} - index.sku_pos.keys())
        if unknown:
            shown = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
            message = f"the plan names {len(unknown)} SKU(s) the snapshot lacks: {shown}"
            raise InputError([Issue("plan", message)])
        self.planned: dict[str, int] = defaultdict(int)
        handed: dict[str, int] = defaultdict(int)
        shared: dict[str, int] = defaultdict(int)
        for sku, at, quantity, shared_units in rows:
            if sku in self.skus:
                handed[sku] += quantity
                shared[sku] = max(shared[sku], shared_units)
                if at == shop:
                    self.planned[sku] = quantity + shared_units
        # Pool units no shop was given, which any shop could still list.
        self.idle = {
            sku: max(pool - handed[sku] - shared[sku], 0) for sku, pool in pools if sku in self.skus
        }

    @classmethod
    def of(cls, snapshot: Snapshot, plan: Plan, shop: str) -> ShopView:
        """From the snapshot and plan models."""
        allocations = ((a.sku, a.shop, a.quantity, a.shared) for a in plan.allocations)
        pools = ((p.sku, p.pool) for p in plan.skus)
        return cls(SnapshotIndex.build(snapshot), allocations, pools, shop)

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
    return shelf_of_view(ShopView.of(snapshot, plan, shop), slots, rules)


def shelf_of_view(view: ShopView, slots: int = 20, rules: ShelfRules | None = None) -> ShelfInput:
    """The shop's shelf: its listed products (or, with none listed yet, what it could
    list) in order of sales value per day, the first `slots` of them placed."""
    shop = view.shop
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
    return selection_of_view(ShopView.of(snapshot, plan, shop), listing_limit, max_per_category)


def selection_of_view(
    view: ShopView, listing_limit: int | None = None, max_per_category: int | None = None
) -> SelectionInput:
    """`selection_from_plan` of a shop's view."""
    shop = view.shop
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
