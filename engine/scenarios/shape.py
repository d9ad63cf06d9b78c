"""Seeded snapshots of the shape the learned-demand targets are set on (issue 17): one
brand, every SKU on every shop, long-tailed SKU velocity, a shop mix that varies by SKU
around its category's, and 8 to 25 days of cover, with nothing listed yet.

    python -m engine.scenarios.shape --skus 3000 --shops 5 --seed 17 -o snapshot.json

scenarios/learned/snapshot.json is this command's output; other seeds give held-out
instances of the same shape (the ruleset, scenarios/learned/rules.yaml, names no SKU).

- SKU velocity (units per day over all shops): lognormal, median 0.6, sigma 1.2 (a few
  SKUs sell dozens a day, most under one).
- Shop mix: each category draws a mix over the shops (Dirichlet, concentration 1 per
  shop), each SKU its own around it (Dirichlet with the category's mix x 6): a SKU's
  best shop is often not its category's.
- Stock: the SKU's velocity x a cover drawn uniformly in [8, 25] days, at least 1 unit,
  in one warehouse that supplies every shop.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

PLATFORMS = ("tmall", "jd", "douyin", "pdd", "kuaishou", "xhs")
CATEGORIES = ("tops", "bottoms", "shoes", "bags", "beauty", "home")
AS_OF = "2026-11-01T00:00:00+08:00"
COVER_DAYS = (8.0, 25.0)


def shape_snapshot(skus: int, shops: int, seed: int) -> dict[str, Any]:
    """The snapshot document (plain data, as a snapshot file holds it)."""
    if skus < 1 or not 1 <= shops <= len(PLATFORMS):
        raise ValueError(f"skus >= 1 and 1 <= shops <= {len(PLATFORMS)}")
    rng = np.random.default_rng([seed, skus, shops])
    shop_ids = [f"{PLATFORMS[j][:2]}-{j + 1}" for j in range(shops)]
    category = rng.integers(0, len(CATEGORIES), size=skus)
    category_mix = rng.dirichlet(np.ones(shops), size=len(CATEGORIES))
    mix = np.array([rng.dirichlet(category_mix[c] * 6.0 + 1e-3) for c in category])
    speed = rng.lognormal(np.log(0.6), 1.2, size=skus)
    cover = rng.uniform(*COVER_DAYS, size=skus)
    on_hand = np.maximum(np.round(speed * cover), 1).astype(int)
    price = np.round(rng.lognormal(np.log(120), 0.6, size=skus), 0)
    rate = np.round(speed[:, None] * mix, 3)
    sku_ids = [f"L-{k + 1:05d}" for k in range(skus)]
    return {
        "tenant": "learned",
        "as_of": AS_OF,
        "mode": "normal",
        "brands": [{"id": "lb", "name": "Learned Demand Apparel"}],
        "warehouses": [{"id": "wh-main", "kind": "sellable"}],
        "shops": [
            {"id": s, "brand": "lb", "platform": PLATFORMS[j], "priority": j + 1}
            for j, s in enumerate(shop_ids)
        ],
        "skus": [
            {
                "id": sku_ids[k],
                "brand": "lb",
                "category": CATEGORIES[int(category[k])],
                "price": f"{price[k]:.2f}",
            }
            for k in range(skus)
        ],
        "stock": [
            {"sku": sku_ids[k], "warehouse": "wh-main", "on_hand": int(on_hand[k])}
            for k in range(skus)
        ],
        "velocity": [
            {"sku": sku_ids[k], "shop": shop_ids[j], "units_per_day": float(rate[k, j])}
            for k in range(skus)
            for j in range(shops)
            if rate[k, j] > 0
        ],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=3000)
    parser.add_argument("--shops", type=int, default=5)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("-o", "--out", type=Path, required=True)
    args = parser.parse_args(argv)
    document = shape_snapshot(args.skus, args.shops, args.seed)
    args.out.write_text(json.dumps(document, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
