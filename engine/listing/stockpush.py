"""What a stock push sends: the plan's numbers, per shop and product, minus what the
`sync_threshold` rule says is not worth an update.

A shop shows quantity + shared of each SKU it lists; the platforms set stock per item
(the catalog product, by its SPU code as outer id) for some of its SKUs at once, so the
cells to send are grouped per (shop, product). A cell is compared with what was last sent
to that shop (not with the snapshot's listed numbers: those are what the planner held
against, and a push may come many plans later). The rule is the planner's
(docs/rules.md, engine/planning/post.py `_sync`):

- a cell never sent before is sent;
- a fall is always sent (a lower number cannot oversell), and so is a rise from 0;
- a rise of at least `threshold`, or one that reaches a band level (last < level <= new),
  is sent; a smaller one is held;
- nothing is held on a cell with a shared part, or where the last number sent is below
  the cell's hard lower bound.

Every cell of the plan ends up in exactly one of `updates` or `held`, the held ones with
why: nothing is dropped without a word.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from engine.catalog.model import Product
from engine.core.errors import InputError, Issue
from engine.core.index import SnapshotIndex
from engine.core.plan import Allocation, Plan
from engine.core.snapshot import Snapshot
from rules.catalog import Ruleset
from rules.draft import Draft
from rules.post_rules import post_rules
from rules.references import check_references

__all__ = [
    "Cell",
    "Held",
    "PushPlan",
    "StockUpdate",
    "SyncRule",
    "sku_products",
    "stock_updates",
    "sync_thresholds",
]

Cell = tuple[str, str]  # (shop, SKU)

UNCHANGED = "unchanged"
NO_SKU = "SKU not in the catalog"
NO_SHOP = "shop not in the catalog"
OTHER_BRAND = "product of another brand than the shop"


@dataclass(frozen=True)
class SyncRule:
    """The sync_threshold rule in force on one cell."""

    threshold: int
    bands: tuple[int, ...]
    rule: str  # its id, or its position in the ruleset when it has none


@dataclass(frozen=True)
class StockUpdate:
    """One `Marketplace.update_stock` call: absolute units of some SKUs of one item."""

    shop: str
    platform: str
    outer_id: str  # the catalog product's SPU code
    stock: dict[str, int]  # SKU code -> units


@dataclass(frozen=True)
class Held:
    """A cell of the plan that is not sent, and why."""

    shop: str
    sku: str
    units: int  # what the plan gives the shop (quantity + shared)
    last: int | None  # what was last sent; None: never
    reason: str


@dataclass(frozen=True)
class PushPlan:
    updates: list[StockUpdate]
    held: list[Held]

    def sent(self) -> dict[Cell, int]:
        """The cells the updates set, with their units: what `last_sent` becomes once
        every update went through."""
        return {(u.shop, sku): units for u in self.updates for sku, units in u.stock.items()}


def sync_thresholds(snapshot: Snapshot, ruleset: Ruleset) -> dict[Cell, SyncRule]:
    """The sync_threshold rule in force on every cell of the snapshot that has one.

    The planner's own parameters of its post step (rules/post_rules.py), so scopes,
    precedence, priorities and windows decide exactly as they do in a plan. They only
    need the rules in force, not the compiled problem: on the demo (16,900 cells) this
    takes about 2 ms after the index, where the whole compile takes about 170 ms."""
    index = SnapshotIndex.build(snapshot)
    check_references(ruleset, index)
    post = post_rules(Draft.start(index, ruleset, snapshot.mode))
    rules: dict[int, SyncRule] = {}
    found: dict[Cell, SyncRule] = {}
    for cell in np.flatnonzero(post.sync > 0):
        k = int(post.sync_rule[cell])
        if k not in rules:
            bands = tuple(sorted(post.bands.get(k, [])))
            rules[k] = SyncRule(int(post.sync[cell]), bands, ruleset.label(k))
        shop = index.shop_ids[int(index.cell_shop[cell])]
        found[(shop, index.sku_ids[int(index.cell_sku[cell])])] = rules[k]
    return found


def sku_products(products: Iterable[Product]) -> dict[str, tuple[str, str]]:
    """SKU code -> (brand, SPU code) of the product holding it. A SKU code in two
    products would be pushed to two items: an InputError names both."""
    found: dict[str, tuple[str, str]] = {}
    issues: list[Issue] = []
    for product in products:
        for sku in product.skus:
            seen = found.setdefault(sku.sku_code, (product.brand, product.spu_code))
            if seen != (product.brand, product.spu_code):
                where = f"{product.brand}/{product.spu_code}"
                message = f"SKU {sku.sku_code!r} is also in product {seen[0]}/{seen[1]}"
                issues.append(Issue(f"{where}.skus[{sku.sku_code}]", message))
    if issues:
        raise InputError(issues, "catalog")
    return found


def stock_updates(
    plan: Plan,
    catalog_skus: Mapping[str, tuple[str, str]],
    shops: Mapping[str, tuple[str, str]],
    last_sent: Mapping[Cell, int],
    thresholds: Mapping[Cell, SyncRule],
) -> PushPlan:
    """The updates a push of `plan` sends, and every cell it holds back with the reason.

    `catalog_skus`: SKU code -> (brand, SPU code); `shops`: shop id -> (brand, platform);
    `last_sent`: (shop, SKU) -> units last sent; `thresholds`: from `sync_thresholds`.
    Updates come per (shop, product) in order of shop and SPU code, each one's SKUs in
    code order; held cells in order of shop and SKU."""
    _check_cells(plan)
    items: dict[tuple[str, str], dict[str, int]] = {}
    platforms: dict[str, str] = {}
    held: list[Held] = []
    for a in plan.allocations:
        units = a.quantity + a.shared
        last = last_sent.get((a.shop, a.sku))
        reason = _not_in_catalog(a, catalog_skus, shops) or _hold(a, units, last, thresholds)
        if reason:
            held.append(Held(a.shop, a.sku, units, last, reason))
            continue
        platforms[a.shop] = shops[a.shop][1]
        items.setdefault((a.shop, catalog_skus[a.sku][1]), {})[a.sku] = units
    updates = [
        StockUpdate(shop, platforms[shop], outer_id, dict(sorted(stock.items())))
        for (shop, outer_id), stock in sorted(items.items())
    ]
    held.sort(key=lambda h: (h.shop, h.sku))
    return PushPlan(updates, held)


def _check_cells(plan: Plan) -> None:
    """A cell twice would be sent twice, the second number silently winning."""
    first: dict[Cell, int] = {}
    issues: list[Issue] = []
    for i, a in enumerate(plan.allocations):
        seen = first.setdefault((a.shop, a.sku), i)
        if seen != i:
            message = f"SKU {a.sku!r} on shop {a.shop!r} again (first at allocations[{seen}])"
            issues.append(Issue(f"allocations[{i}]", message))
    if issues:
        raise InputError(issues, f"plan {plan.plan_id}")


def _not_in_catalog(
    a: Allocation,
    catalog_skus: Mapping[str, tuple[str, str]],
    shops: Mapping[str, tuple[str, str]],
) -> str:
    """Why the cell has no item to send to, or ""."""
    if a.shop not in shops:
        return NO_SHOP
    if a.sku not in catalog_skus:
        return NO_SKU
    product_brand, shop_brand = catalog_skus[a.sku][0], shops[a.shop][0]
    if product_brand != shop_brand:
        return f"{OTHER_BRAND} (product {product_brand}, shop {shop_brand})"
    return ""


def _hold(a: Allocation, units: int, last: int | None, thresholds: Mapping[Cell, SyncRule]) -> str:
    """Why the cell's new number is not worth sending, or "" to send it."""
    if last is None:
        return ""
    if units == last:
        return UNCHANGED
    rule = thresholds.get((a.shop, a.sku))
    # As the planner: falls, rises from 0, shared parts and numbers below a hard floor
    # are never held.
    if rule is None or units < last or last == 0 or a.shared > 0 or last < a.lb:
        return ""
    rise = units - last
    if rise >= rule.threshold or any(last < level <= units for level in rule.bands):
        return ""
    return f"below sync threshold {rule.threshold} (rule {rule.rule}): +{rise}"
