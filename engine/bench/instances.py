"""Seeded benchmark instances, built as arrays (a million SKUs would not fit as
per-row models): one brand whose shops all sell every SKU, so cells = SKUs x shops.

Families:
- separable: a demo-like stack of pool, reserve, share, cap and floor rules;
- capacity:  the same, plus a binding capacity on every shop (couples all SKUs);
- side:      the same, plus bundles and value budgets (side constraints: MIP);
- demo:      the real stack: the demo generator's snapshot and its whole ruleset
             (three brands on 10 shops, bundles, a shop capacity, warehouse scopes,
             pack sizes, ...); its size is the number of SKUs, not cells.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from engine.core.index import BUCKETS, SnapshotIndex
from engine.core.io import parse_snapshot
from engine.demo import build_demo
from rules.catalog import Ruleset
from rules.load import parse_ruleset

FAMILIES = ("separable", "capacity", "side", "demo")
AS_OF = datetime(2026, 11, 11, tzinfo=UTC)
CATEGORIES = ["apparel", "shoes", "beauty", "home", "toys"]
PLATFORMS = ["tmall", "jd", "douyin", "pdd"]


@dataclass(frozen=True)
class Instance:
    family: str
    skus: int
    shops: int
    index: SnapshotIndex
    ruleset: Ruleset

    @property
    def cells(self) -> int:
        return self.index.n_cells


def shop_ids(shops: int) -> list[str]:
    return [f"{PLATFORMS[j % 4]}-{j:02d}" for j in range(shops)]


def rules_for(family: str, shops: int, expected_load: float) -> list[dict[str, Any]]:
    ids = shop_ids(shops)
    window = {"active_from": "2026-11-01T00:00:00+08:00", "active_to": "2026-11-12T00:00:00+08:00"}
    rules: list[dict[str, Any]] = [
        {"id": "r-composition", "type": "stock_composition", "in_transit": True},
        {"id": "r-safety", "type": "safety_stock_pct", "percent": 5},
        {
            "id": "r-safety-beauty",
            "type": "safety_stock_days",
            "days": 2,
            "scope": {"category": "beauty"},
        },
        {"id": "r-zero", "type": "zero_below", "threshold": 2},
        {"id": "r-velocity", "type": "velocity_proportional"},
        {
            "id": "r-shares-shoes",
            "type": "percentage",
            "scope": {"category": "shoes"},
            "shares": {ids[0]: 0.4, ids[1]: 0.35, ids[2 % shops]: 0.35},
        },
        {"id": "r-cover-home", "type": "days_of_cover_balance", "scope": {"category": "home"}},
        {"id": "r-equal-toys", "type": "equal_split", "scope": {"category": "toys"}},
        {"id": "r-cap", "type": "max_cap", "quantities": {ids[-1]: 40}},
        {"id": "r-floor", "type": "min_floor", "quantities": {ids[1]: 2}},
        {"id": "r-hold", "type": "promotion_hold", "shop": ids[0], "quantity": 2, **window},
        {"id": "r-uplift", "type": "promotion_uplift", "factor": 2.0, "shops": [ids[0]], **window},
    ]
    if family in ("capacity", "side"):
        room = int(expected_load * 0.6)
        rules.append(
            {"id": "r-capacity", "type": "shop_capacity", "quantities": dict.fromkeys(ids, room)}
        )
    if family == "side":
        budget = f"{expected_load * 0.3 * 150:.2f}"
        rules.append(
            {
                "id": "r-budget",
                "type": "value_budget",
                "budgets": {ids[1]: budget, ids[2 % shops]: budget},
            }
        )
    return rules


def make_instance(family: str, cells: int, shops: int, seed: int = 7) -> Instance:
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}: use one of {', '.join(FAMILIES)}")
    if family == "demo":
        return demo_instance(cells, seed)
    rng = np.random.default_rng([seed, cells, shops, FAMILIES.index(family)])
    n_s = max(cells // shops, 1)
    ids = shop_ids(shops)
    wh_ids = ["wh-east", "wh-south", "wh-defect"]
    on_hand = np.floor(rng.lognormal(3.2, 1.1, size=(n_s, 2))).astype(np.int64)
    stock = {b: np.zeros((n_s, 3), dtype=np.int64) for b in BUCKETS}
    stock["on_hand"][:, :2] = on_hand
    stock["reserved"][:, :2] = np.minimum(on_hand, rng.poisson(1.0, size=(n_s, 2)))
    stock["in_transit"][:, 0] = rng.poisson(2.0, size=n_s)
    stock["defective"][:, 2] = stock["on_hand"][:, 2] = rng.poisson(0.5, size=n_s)
    # Long-tailed sales; one SKU in ten has none on a given shop.
    speed = rng.pareto(1.5, size=n_s * shops) * (rng.random(n_s * shops) > 0.1)
    cell_sku = np.repeat(np.arange(n_s), shops)
    cell_shop = np.tile(np.arange(shops), n_s)
    bundle_rows = (np.zeros(0, dtype=np.int64),) * 3
    if family == "side":
        # One SKU in twenty is a bundle of two other SKUs, with no stock of its own.
        bundles = np.arange(0, n_s, 20)
        comps = (bundles[:, None] + np.array([1, 2])[None, :]) % n_s
        stock["on_hand"][bundles] = 0
        stock["reserved"][bundles] = 0
        stock["in_transit"][bundles] = 0
        bundle_rows = (
            np.repeat(bundles, 2),
            comps.ravel(),
            rng.integers(1, 3, size=comps.size).astype(np.int64),
        )
    index = SnapshotIndex.from_arrays(
        as_of=AS_OF,
        sku_ids=[f"S{i:07d}" for i in range(n_s)],
        sku_brand=np.zeros(n_s, dtype=np.int64),
        sku_category=rng.integers(0, len(CATEGORIES), size=n_s),
        categories=sorted(CATEGORIES),
        sku_tags={},
        price_cents=rng.integers(990, 49_900, size=n_s),
        brands=["bench"],
        shop_ids=ids,
        shop_brand=np.zeros(shops, dtype=np.int64),
        shop_platform=[PLATFORMS[j % 4] for j in range(shops)],
        shop_priority=np.arange(shops, dtype=np.int64),
        wh_ids=wh_ids,
        wh_kind=["sellable", "sellable", "defect"],
        shop_wh=np.ones((shops, 3), dtype=bool),
        stock=stock,
        velocity=(cell_sku, cell_shop, speed),
        listed=(cell_sku[:0], cell_shop[:0], np.zeros(0, dtype=np.int64)),
        bundle_rows=bundle_rows,
    )
    expected_load = float(on_hand.sum()) / shops
    ruleset = parse_ruleset({"rules": rules_for(family, shops, expected_load)}, source=family)
    return Instance(family, n_s, shops, index, ruleset)


def demo_instance(skus: int, seed: int) -> Instance:
    """`omnistock demo DIR --skus N --seed S`'s snapshot and ruleset, as an instance."""
    snapshot, rules = build_demo(seed=seed, skus=skus)
    index = SnapshotIndex.build(parse_snapshot(snapshot, "demo"))
    return Instance("demo", skus, index.n_shops, index, parse_ruleset(rules, "demo"))
