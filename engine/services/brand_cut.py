"""What a brand-scoped reader (a brand viewer's key) sees: the SKUs and shops of its
brand, and plans, published quantities and failed jobs cut to them - one filter for
plans and published rows, one for a job's error."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from engine.core.errors import ConflictError
from engine.core.snapshot import Snapshot
from engine.jobs.base import JobInfo
from engine.jobs.kinds import FailurePart
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


def failure_parts(error: ConflictError, snapshot: JsonObject) -> list[FailurePart]:
    """Each conflict of a failed plan with the brands of the SKUs and shops it names
    (none when it names an id the snapshot does not have: then it is nobody's)."""
    sku_brand = {str(s["id"]): s.get("brand") for s in snapshot.get("skus", [])}
    shop_brand = {str(s["id"]): s.get("brand") for s in snapshot.get("shops", [])}
    parts: list[FailurePart] = []
    for conflict in error.conflicts:
        named = [sku_brand.get(sku) for sku in conflict.skus]
        named += [shop_brand.get(shop) for shop in conflict.shops]
        known = named and None not in named
        parts.append({"text": str(conflict), "brands": sorted(set(named)) if known else []})
    return parts


def job_for_brand(job: JobInfo, brand: str) -> JobInfo:
    """The job as a reader of `brand` sees it: a failure's causes that concern that
    brand alone, and only a count of the others (rules, SKUs and shops of other brands,
    or of the whole tenant, are not named)."""
    if job.error is None or job.status != "failed":
        return job
    parts = job.error_parts or []
    mine = [part["text"] for part in parts if part["brands"] == [brand]]
    others = len(parts) - len(mine) if job.error_parts is not None else 1
    if not others:
        return job
    lines = [f"the job failed; {len(mine)} cause(s) concern brand {brand!r}"]
    lines += [f"  - {text}" for text in mine]
    lines.append(f"  ({others} other cause(s) concern more than brand {brand!r}: not shown)")
    return replace(job, error="\n".join(lines), error_parts=None)
