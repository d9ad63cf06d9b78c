"""A stored plan laid out for the plan pages: per brand, its SKUs by its shops.

A plan never changes once stored (its id is the hash of its inputs), so each process
keeps the last few it laid out: the first view of a 5,000 SKU x 10 shop plan reads and
arranges 50,000 cells once, every later page of it is a slice. Nothing here decides
anything about stock: it only arranges the stored plan (engine/services/kept_plans.py).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.services.kept_plans import kept_plan
from engine.store.base import Store

KEEP = 4  # plans kept laid out per process (a few MB each at the demo's size)
PAGE_ROWS = 50


@dataclass(frozen=True)
class Cell:
    quantity: int
    shared: int
    listed: bool
    binding: tuple[str, ...]


@dataclass
class BrandPart:
    """One brand's slice of a plan."""

    brand: str
    skus: list[str] = field(default_factory=list)
    shops: list[str] = field(default_factory=list)
    units: int = 0


@dataclass
class PlanTable:
    plan_id: str
    stock_version: int
    ruleset_version: int
    mode: str
    solver: str
    input_hash: str
    brands: dict[str, BrandPart]
    cells: dict[str, dict[str, Cell]]  # sku -> shop -> cell
    pools: dict[str, int]  # sku -> its pool
    categories: dict[str, str]  # sku -> category (from the snapshot of the plan's time)

    def rows(
        self, brand: str, query: str, shop: str, category: str, only: set[str] | None = None
    ) -> list[tuple[str, str, int, dict[str, Cell]]]:
        """The brand's SKUs that match (id contains `query`; listed on or given to
        `shop`; in `category`; among `only` if given), each with its category, pool and
        cells."""
        part = self.brands[brand]
        needle = query.strip().lower()
        found = []
        for sku in part.skus:
            if (needle and needle not in sku.lower()) or (only is not None and sku not in only):
                continue
            if category and self.categories.get(sku, "") != category:
                continue
            row = self.cells.get(sku, {})
            if shop:
                cell = row.get(shop)
                if cell is None or (not cell.listed and cell.quantity == 0):
                    continue
            found.append((sku, self.categories.get(sku, ""), self.pools.get(sku, 0), row))
        return found

    def brand_categories(self, brand: str) -> list[str]:
        return sorted({self.categories.get(sku, "") for sku in self.brands[brand].skus} - {""})


def lay_out(
    plan_id: str, document: dict[str, Any], meta: dict[str, Any], categories: dict[str, str]
) -> PlanTable:
    """The plan's cells arranged per brand, SKU and shop."""
    sku_brand: dict[str, str] = meta["brands"]["skus"]
    shop_brand: dict[str, str] = meta["brands"]["shops"]
    brands: dict[str, BrandPart] = {}
    for sku, brand in sku_brand.items():
        brands.setdefault(brand, BrandPart(brand)).skus.append(sku)
    for shop, brand in shop_brand.items():
        brands.setdefault(brand, BrandPart(brand)).shops.append(shop)
    for part in brands.values():
        part.skus.sort()
    cells: dict[str, dict[str, Cell]] = {}
    for a in document["allocations"]:
        cell = Cell(
            a["quantity"], a.get("shared", 0), bool(a.get("listed")), tuple(a.get("binding", ()))
        )
        cells.setdefault(a["sku"], {})[a["shop"]] = cell
        owner = sku_brand.get(a["sku"])
        if owner is not None:
            brands[owner].units += a["quantity"]
    pools = {row["sku"]: row["pool"] for row in document.get("skus", [])}
    return PlanTable(
        plan_id=plan_id,
        stock_version=meta["stock_version"],
        ruleset_version=meta["ruleset_version"],
        mode=document["mode"],
        solver=str(document.get("solver", "")),
        input_hash=document["input_hash"],
        brands=dict(sorted(brands.items())),
        cells=cells,
        pools=pools,
        categories={sku: categories.get(sku, "") for sku in sku_brand},
    )


_LAID_OUT: OrderedDict[tuple[str, str], PlanTable] = OrderedDict()
_LOCK = threading.Lock()


def plan_table(store: Store, plan_id: str, categories: Callable[[], dict[str, str]]) -> PlanTable:
    """The plan laid out (from this process's few kept, else read now, its SKUs'
    categories from `categories()`); NotFound if the tenant has no such plan."""
    key = (store.tenant, plan_id)
    with _LOCK:
        table = _LAID_OUT.get(key)
        if table is not None:
            _LAID_OUT.move_to_end(key)
            return table
    kept = kept_plan(store, plan_id)
    table = lay_out(plan_id, kept.document, kept.meta, categories())
    with _LOCK:
        _LAID_OUT[key] = table
        while len(_LAID_OUT) > KEEP:
            _LAID_OUT.popitem(last=False)
    return table
