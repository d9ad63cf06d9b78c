"""How fast the price guard is: a synthetic catalog, built the same from the same seed,
guarded once and timed.

The instance is one brand's SKUs (list prices spread like a fashion and beauty catalog,
9.90 to 5,000 yuan; costs 35-60% of the list price, floors at a 10% margin, 2% of SKUs
without a floor) in `shops` shops over the five platforms, each with `promotions`
promotions drawn from a Double-11 mix: a shop-wide discount, direct cuts and discounts
on a few SKUs, a clearance, coupons with and without threshold, threshold discounts
(repeating, stepped), platform coupons, gifts, and some promotions outside the instant
checked. Some pairs do not stack.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from engine.catalog.prices.guard import NO_FLOOR, SkuArrays, check
from engine.catalog.prices.policy import PricePolicy, parse_policy
from engine.core.snapshot import Shop

PLATFORMS = ("tmall", "jd", "douyin", "pdd", "taobao")
AT = datetime.fromisoformat("2026-11-11T00:00:00+08:00")
_WINDOW = {"start": "2026-11-01T00:00:00+08:00", "end": "2026-11-12T00:00:00+08:00"}
_PAST = {"start": "2026-10-01T00:00:00+08:00", "end": "2026-10-08T00:00:00+08:00"}
_LATER = {"start": "2026-12-01T00:00:00+08:00", "end": "2026-12-13T00:00:00+08:00"}


@dataclass(frozen=True)
class BenchResult:
    seconds: float
    sku_shops: int
    us_per_sku_shop: float
    breaches: int
    may_breach: int


@dataclass(frozen=True)
class Instance:
    skus: SkuArrays
    shops: list[Shop]
    policy: PricePolicy
    at: datetime


def _money(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _threshold(platform: str) -> dict[str, Any]:
    if platform in ("tmall", "taobao"):
        steps = [{"spend": "300.00", "save": "50.00"}]
        return {"steps": steps, "repeat": True, "cross_shop": True}
    if platform == "jd":
        steps = [{"spend": "200.00", "save": "20.00"}, {"spend": "400.00", "save": "50.00"}]
        return {"steps": steps}
    return {"steps": [{"spend": "150.00", "save": "10.00"}], "repeat": True}


def _promotions(
    shop: str, platform: str, codes: list[str], count: int, rng: np.random.Generator
) -> list[dict[str, Any]]:
    """`count` promotions of one shop, cycling through a Double-11 mix of twenty."""

    def some(share: float) -> list[str]:
        size = max(1, int(len(codes) * share))
        picks = rng.choice(len(codes), size=min(size, len(codes)), replace=False)
        return [codes[int(i)] for i in np.sort(picks)]

    mix: list[dict[str, Any]] = [
        {"kind": "item_discount", "rate": "0.90"},
        {"kind": "direct_cut", "amount": "5.00", "skus": 0.01},
        {"kind": "direct_cut", "amount": "10.00", "skus": 0.01},
        {"kind": "direct_cut", "amount": "30.00", "skus": 0.01},
        {"kind": "direct_cut", "amount": "50.00", "skus": 0.005},
        {"kind": "item_discount", "rate": "0.85", "skus": 0.01},
        {"kind": "item_discount", "rate": "0.80", "skus": 0.01},
        {"kind": "item_discount", "rate": "0.70", "skus": 0.005},
        {"kind": "item_discount", "rate": "0.50", "skus": 0.0005, "stack": ["coupon-20"]},
        {"kind": "shop_coupon", "threshold": "0", "amount": "5.00", "name": "coupon-5"},
        {"kind": "shop_coupon", "threshold": "199.00", "amount": "20.00", "name": "coupon-20"},
        {"kind": "shop_coupon", "threshold": "399.00", "amount": "50.00"},
        {"kind": "threshold", **_threshold(platform)},
        {
            "kind": "threshold",
            "steps": [{"spend": "99.00", "save": "5.00"}, {"spend": "199.00", "save": "15.00"}],
            "stack_not": "coupon-5",
        },  # fmt: skip
        {"kind": "platform_coupon", "threshold": "99.00", "amount": "10.00"},
        {"kind": "platform_coupon", "threshold": "299.00", "amount": "30.00"},
        {"kind": "gift", "cost": "15.00", "skus": 0.02},
        {"kind": "gift", "cost": "50.00", "skus": 0.01},
        {"kind": "item_discount", "rate": "0.60", "window": _PAST},
        {"kind": "shop_coupon", "threshold": "99.00", "amount": "30.00", "window": _LATER},
    ]
    names = {m.get("name"): i for i, m in enumerate(mix) if m.get("name")}
    out = []
    for number in range(count):
        spec = dict(mix[number % len(mix)])
        round_ = number // len(mix)
        promo_id = f"{shop}-p{number:02d}"
        doc: dict[str, Any] = {"id": promo_id, "shop": shop, "kind": spec.pop("kind")}
        doc.update(spec.pop("window", _WINDOW))
        share = spec.pop("skus", None)
        if share is not None:
            doc["skus"] = some(share)
        stack = spec.pop("stack", None)
        if stack is not None:
            doc["stackable_with"] = [f"{shop}-p{names[s] + round_ * len(mix):02d}" for s in stack]
        not_with = spec.pop("stack_not", None)
        if not_with is not None:
            other = names[not_with] + round_ * len(mix)
            doc["stackable_with"] = [
                f"{shop}-p{i:02d}" for i in range(count) if i not in (other, number)
            ]
        spec.pop("name", None)
        doc.update(spec)
        out.append(doc)
    # The exclusions name promotions of this shop only; drop names beyond `count`.
    known = {doc["id"] for doc in out}
    for doc in out:
        if "stackable_with" in doc:
            doc["stackable_with"] = [i for i in doc["stackable_with"] if i in known]
    return out


def build_instance(
    skus: int = 50_000, shops: int = 10, promotions: int = 20, seed: int = 0
) -> Instance:
    """The synthetic instance: `skus` SKUs of one brand in `shops` shops, each shop with
    `promotions` promotions."""
    rng = np.random.default_rng([seed, 4])
    codes = [f"S{i:06d}" for i in range(skus)]
    price = np.clip(np.exp(rng.normal(np.log(150.0), 0.8, skus)), 9.9, 5000.0)
    list_fen = (np.round(price) * 100 - 10).astype(np.int64)
    cost = list_fen * rng.uniform(0.35, 0.6, skus)
    floor = np.ceil(cost * 1.1).astype(np.int64)
    floor[rng.random(skus) < 0.02] = NO_FLOOR
    table = SkuArrays(tuple(codes), ("b1",) * skus, list_fen, floor)
    shop_list = [
        Shop(id=f"shop{i:02d}", brand="b1", platform=PLATFORMS[i % len(PLATFORMS)])
        for i in range(shops)
    ]
    docs = []
    for shop in shop_list:
        docs.extend(_promotions(shop.id, shop.platform, codes, promotions, rng))
    policy = parse_policy(
        {"min_margin": {"default": "0.10"}, "promotions": docs}, [s.id for s in shop_list]
    )
    return Instance(table, shop_list, policy, AT)


def bench(skus: int = 50_000, shops: int = 10, promotions: int = 20, seed: int = 0) -> BenchResult:
    """Build the instance, guard it once, and time the guard (not the building)."""
    instance = build_instance(skus, shops, promotions, seed)
    start = time.perf_counter()
    result = check(instance.skus, instance.shops, instance.policy, instance.at)
    seconds = time.perf_counter() - start
    rows = result.summary["rows"]
    return BenchResult(
        seconds=round(seconds, 3),
        sku_shops=rows,
        us_per_sku_shop=round(seconds / rows * 1e6, 2) if rows else 0.0,
        breaches=result.summary["breach"],
        may_breach=result.summary["may_breach"],
    )
