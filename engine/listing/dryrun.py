"""A dry run of a listing: every payload each shop would receive, and every field its
platform would refuse - worked out from the platform schemas, with no call to anyone.

Each product goes to every shop of its brand, with that shop's settings, and checked by
the catalog's completeness check (the same schemas the platforms - and the sandbox -
validate with). Stock is what a published plan lists; a SKU the mapping does not name is
listed with 0 units, so a product is not refused for a plan that is not made yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.catalog.completeness import check
from engine.catalog.model import Product
from engine.catalog.payload import FieldIssue
from engine.catalog.registry import Registry
from engine.catalog.shops import Shop

__all__ = ["DryItem", "DryRun", "dry_run"]


@dataclass(frozen=True)
class DryItem:
    """One product in one shop: the payload it would be sent, what would be refused."""

    shop: str
    brand: str
    spu_code: str
    platform: str
    payload: dict[str, Any]
    issues: list[FieldIssue]

    @property
    def ok(self) -> bool:
        return not self.issues


@dataclass(frozen=True)
class DryRun:
    items: list[DryItem]
    refused: int  # items with at least one issue: they would not be sent


def dry_run(
    products: Iterable[Product],
    shops: Iterable[Shop],
    registry: Registry,
    stock: Mapping[str, int] | None = None,
    shop_stock: Mapping[str, Mapping[str, int]] | None = None,
) -> DryRun:
    """Every product x every shop of its brand (shops in the order given); `stock` is
    SKU code -> units, `shop_stock` shop -> SKU code -> units where shops differ (a
    published plan's quantities), over `stock`."""
    by_brand: dict[str, list[Shop]] = {}
    for shop in shops:
        by_brand.setdefault(shop.brand, []).append(shop)
    units = stock or {}
    items: list[DryItem] = []
    for product in products:
        targets = by_brand.get(product.brand, [])
        if not targets:
            continue
        for shop in targets:
            own = (shop_stock or {}).get(shop.id, {})
            context_stock = {
                s.sku_code: own.get(s.sku_code, units.get(s.sku_code, 0)) for s in product.skus
            }
            found = check(
                product, shop.platform, registry, {**shop.settings, "stock": context_stock}
            )
            items.append(
                DryItem(
                    shop=shop.id,
                    brand=product.brand,
                    spu_code=product.spu_code,
                    platform=shop.platform,
                    payload=found.payload,
                    issues=list(found.issues),
                )
            )
    return DryRun(items=items, refused=sum(1 for i in items if not i.ok))
