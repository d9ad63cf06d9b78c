"""What a brand-scoped reader (a brand viewer's key) sees: the SKUs and shops of its
brand, and plans and published quantities cut to them - one filter for both."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.core.snapshot import Snapshot
from engine.store.base import JsonObject


def brand_map(snapshot: Snapshot) -> JsonObject:
    """Each SKU's and each shop's brand, as kept beside a stored plan."""
    return {
        "skus": {s.id: s.brand for s in snapshot.skus},
        "shops": {s.id: s.brand for s in snapshot.shops},
    }


@dataclass(frozen=True)
class BrandCut:
    """The SKUs and shops of one brand."""

    skus: frozenset[str]
    shops: frozenset[str]

    @classmethod
    def of(cls, brands: JsonObject, brand: str) -> BrandCut:
        """The brand's part of a `brand_map`."""
        skus = frozenset(sku for sku, b in brands["skus"].items() if b == brand)
        shops = frozenset(shop for shop, b in brands["shops"].items() if b == brand)
        return cls(skus, shops)

    def shows(self, item: Any) -> bool:
        """Whether an item (an allocation, a warning, a published row...) is the brand's:
        every SKU and shop it names is; an item naming neither is nobody's."""
        if not isinstance(item, dict) or not ("sku" in item or "shop" in item):
            return False
        return ("sku" not in item or item["sku"] in self.skus) and (
            "shop" not in item or item["shop"] in self.shops
        )

    def plan(self, document: JsonObject) -> JsonObject:
        """A plan document cut to the brand: its id, mode and the brand's lines only
        (no tenant-wide totals)."""
        cut: JsonObject = {"plan_id": document["plan_id"], "mode": document["mode"]}
        for name in ("allocations", "unallocated", "warnings", "skus"):
            cut[name] = [item for item in document.get(name, []) if self.shows(item)]
        return cut
