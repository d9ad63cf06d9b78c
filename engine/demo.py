"""Deterministic demo data: a Double-11 snapshot of three brands on ten shops, and a
ruleset that exercises most of the rule catalog (scenarios/demo/ is written by this).

Everything comes from one seeded numpy Generator drawn in a fixed order; nothing reads
the clock or iterates a set, so one seed always gives the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from engine.core.io import dump_json

DEFAULT_SEED = 11
DEFAULT_SKUS = 5000
AS_OF = "2026-11-11T00:00:00+08:00"
# The Double-11 campaign the holds, uplifts and window rules run in (covers AS_OF).
CAMPAIGN_FROM = "2026-11-01T00:00:00+08:00"
CAMPAIGN_TO = "2026-11-12T00:00:00+08:00"
# A campaign report's snapshot (`build_demo(..., after_campaign=True)`) is taken once the
# campaign is over, and its history peaks on Double-11: demand is the everyday rate times
# the day's factor (the presale's last day, the day itself, its tail).
AFTER_CAMPAIGN_AS_OF = "2026-11-13T00:00:00+08:00"
DOUBLE11_PEAK = {date(2026, 11, 10): 2.0, date(2026, 11, 11): 5.0, date(2026, 11, 12): 2.5}
# Double-12 rules already in the file, not yet in force on AS_OF.
DOUBLE12_FROM = "2026-12-10T00:00:00+08:00"
DOUBLE12_TO = "2026-12-13T00:00:00+08:00"

Doc = dict[str, Any]

SELLABLE = ("wh-sh", "wh-gz")
WAREHOUSES = (
    {"id": "wh-sh", "kind": "sellable", "name": "Shanghai Jiading DC"},
    {"id": "wh-gz", "kind": "sellable", "name": "Guangzhou Baiyun DC"},
    {"id": "wh-defect", "kind": "defect", "name": "Shanghai returns and defects"},
)
# Relative sales rate of a platform's shop, before per-SKU noise.
PLATFORM_PULL = {"tmall": 1.0, "jd": 0.7, "douyin": 0.9, "pdd": 0.45}


@dataclass(frozen=True)
class Category:
    name: str
    weight: float  # share of the brand's SKUs
    price: tuple[int, int]  # yuan, low and high


@dataclass(frozen=True)
class ShopSpec:
    id: str
    platform: str
    priority: int
    warehouses: tuple[str, ...] | None = None


@dataclass(frozen=True)
class BrandSpec:
    id: str
    name: str
    prefix: str
    weight: float  # share of all SKUs
    categories: tuple[Category, ...]
    shops: tuple[ShopSpec, ...]
    cents: str  # price ending: "00" or "90"


BRANDS = (
    BrandSpec(
        id="b1",
        name="Stridewell Running",
        prefix="B1",
        weight=0.38,
        categories=(
            Category("running", 0.34, (299, 1099)),
            Category("sneakers", 0.26, (259, 899)),
            Category("sandals", 0.14, (99, 399)),
            Category("boots", 0.12, (399, 1299)),
            Category("socks", 0.14, (29, 99)),
        ),
        shops=(
            ShopSpec("tm-b1", "tmall", 1),
            ShopSpec("jd-b1", "jd", 2),
            ShopSpec("dy-b1", "douyin", 3),
            ShopSpec("pdd-b1", "pdd", 4),
        ),
        cents="00",
    ),
    BrandSpec(
        id="b2",
        name="Lumina Botanics",
        prefix="B2",
        weight=0.36,
        categories=(
            Category("lipstick", 0.30, (89, 329)),
            Category("skincare", 0.36, (129, 899)),
            Category("masks", 0.18, (59, 199)),
            Category("fragrance", 0.16, (299, 1299)),
        ),
        shops=(
            ShopSpec("tm-b2", "tmall", 1),
            ShopSpec("jd-b2", "jd", 2),
            # The Douyin shop ships from Guangzhou only: its SKUs form supply groups.
            ShopSpec("dy-b2", "douyin", 3, warehouses=("wh-gz",)),
        ),
        cents="90",
    ),
    BrandSpec(
        id="b3",
        name="Nestory Home",
        prefix="B3",
        weight=0.26,
        categories=(
            Category("bedding", 0.30, (129, 1599)),
            Category("kitchen", 0.34, (39, 599)),
            Category("storage", 0.22, (29, 299)),
            Category("decor", 0.14, (49, 699)),
        ),
        shops=(
            ShopSpec("tm-b3", "tmall", 1),
            ShopSpec("jd-b3", "jd", 2),
            ShopSpec("pdd-b3", "pdd", 3),
        ),
        cents="00",
    ),
)

FLAGSHIPS = 4  # b1 hero running shoes with ample stock: the `fixed` rule's SKUs
SKUS_PER_BUNDLE = 125  # ~40 bundles in 5,000 SKUs


@dataclass
class _Sku:
    """Working state of one SKU while the snapshot is drawn."""

    id: str
    brand: BrandSpec
    category: str
    tags: list[str]
    yuan: int
    components: list[tuple[str, int]]
    speed: float = 0.0  # units per day over all shops, 0 = no history


def _counts(total: int, weights: list[float]) -> list[int]:
    """Whole counts in proportion to weights, summing to total (largest remainder)."""
    raw = np.array(weights) / sum(weights) * total
    out = np.floor(raw).astype(int)
    for k in np.argsort(-(raw - out), kind="stable")[: total - int(out.sum())]:
        out[k] += 1
    return [int(n) for n in out]


def _price(rng: np.random.Generator, low: int, high: int) -> int:
    """A shelf price in whole yuan ending in 9 (99, 259, 1299)."""
    yuan = int(rng.integers(low, high + 1))
    return max(yuan - yuan % 10 + 9, 9)


def _catalog(rng: np.random.Generator, skus: int) -> list[_Sku]:
    """Plain SKUs per brand and category with tags and prices, then each brand's kits."""
    bundles = max(3, skus // SKUS_PER_BUNDLE)
    plain = skus - bundles
    out: list[_Sku] = []
    per_brand = _counts(plain, [b.weight for b in BRANDS])
    bundles_per_brand = _counts(bundles, [b.weight for b in BRANDS])
    for brand, n, n_bundles in zip(BRANDS, per_brand, bundles_per_brand, strict=True):
        cats = brand.categories
        by_cat = _counts(n, [c.weight for c in cats])
        names = [c for c, k in zip(cats, by_cat, strict=True) for _ in range(k)]
        order = rng.permutation(n)
        tag_draw = rng.random((n, 3))
        mine: list[_Sku] = []
        for pos in range(n):
            cat = names[int(order[pos])]
            tags = [
                tag
                for tag, hit in zip(
                    ("new", "hero", "clearance"), tag_draw[pos] < (0.08, 0.05, 0.06), strict=True
                )
                if hit
            ]
            if "new" in tags and "clearance" in tags:
                tags.remove("clearance")
            sku_id = f"{brand.prefix}-{pos + 1:04d}"
            mine.append(_Sku(sku_id, brand, cat.name, tags, _price(rng, *cat.price), []))
        # The flagships are hero products; they stay out of kits, whose components are
        # established plain SKUs.
        flagships = set(_flagship_ids(mine))
        for sku in mine:
            if sku.id in flagships:
                sku.tags = ["hero"]
        out += mine
        pickable = [s for s in mine if "new" not in s.tags and s.id not in flagships]
        for k in range(n_bundles):
            size = int(rng.integers(2, 4))
            picks = rng.choice(len(pickable), size=size, replace=False)
            parts = [(pickable[int(p)].id, int(rng.integers(1, 3))) for p in sorted(picks)]
            worth = sum(next(s.yuan for s in mine if s.id == c) * q for c, q in parts)
            yuan = int(worth * 0.85) - int(worth * 0.85) % 10 + 9
            out.append(_Sku(f"{brand.prefix}-KIT{k + 1:02d}", brand, "sets", [], yuan, parts))
    return out


def _speeds(rng: np.random.Generator, catalog: list[_Sku]) -> None:
    """Daily sales over all shops: long-tailed; none for most new SKUs and dead stock."""
    n = len(catalog)
    base = rng.lognormal(mean=-0.6, sigma=1.3, size=n)
    dead = rng.random(n) < 0.03
    launched = rng.random(n) < 0.25  # new SKUs with a first few days of sales
    for k, sku in enumerate(catalog):
        speed = float(base[k])
        if "hero" in sku.tags:
            speed *= 6
        if "clearance" in sku.tags:
            speed *= 0.3
        if ("new" in sku.tags and not launched[k]) or (dead[k] and not sku.components):
            speed = 0.0
        sku.speed = speed


def _stock(rng: np.random.Generator, catalog: list[_Sku]) -> list[Doc]:
    """Stock rows per SKU and warehouse. Cover (days of stock) is long-tailed around
    40 days; clearance SKUs sit on months of it. Bundles hold little or nothing."""
    n = len(catalog)
    cover = rng.lognormal(mean=np.log(40), sigma=0.8, size=n)
    fresh = rng.lognormal(mean=np.log(60), sigma=1.0, size=n)  # new SKUs: first delivery
    empty = rng.random(n) < 0.04
    where = rng.random(n)  # < 0.3 Shanghai only, < 0.4 Guangzhou only, else both
    split = rng.beta(3, 2, size=n)
    flags = rng.random((n, 2, 6))
    amounts = rng.random((n, 2, 6))
    defect = rng.random(n) < 0.06
    defect_units = rng.integers(1, 9, size=n)
    rows: list[Doc] = []
    flagship_ids = _flagship_ids(catalog)
    for k, sku in enumerate(catalog):
        if sku.components:
            total = int(rng.integers(0, 12)) if where[k] < 0.35 else 0
        elif sku.id in flagship_ids:
            total = 900 + int(amounts[k, 0, 0] * 900)
        elif sku.speed > 0:
            days = cover[k] * (4 if "clearance" in sku.tags else 1)
            total = 0 if empty[k] else int(sku.speed * days + fresh[k] * 0.2)
        else:
            total = int(fresh[k])
        if sku.components or sku.id in flagship_ids or where[k] < 0.3:
            parts = [total, 0]
        elif where[k] < 0.4:
            parts = [0, total]
        else:
            sh = int(round(total * split[k]))
            parts = [sh, total - sh]
        for w, on_hand in enumerate(parts):
            if on_hand <= 0:
                continue
            if sku.id in flagship_ids:
                rows.append({"sku": sku.id, "warehouse": SELLABLE[w], "on_hand": on_hand})
            else:
                rows.append(_buckets(sku.id, SELLABLE[w], on_hand, flags[k, w], amounts[k, w]))
        if defect[k] and not sku.components:
            units = int(defect_units[k])
            rows.append(
                {"sku": sku.id, "warehouse": "wh-defect", "on_hand": units, "defective": units}
            )
    return rows


def _buckets(sku: str, warehouse: str, on_hand: int, flag: Any, amount: Any) -> Doc:
    """Locked, reserved, defective, pending and unpaid units (never above on_hand) and
    inbound units of one stock row."""
    left = on_hand
    row: Doc = {"sku": sku, "warehouse": warehouse, "on_hand": on_hand}
    # (bucket, probability, largest fraction of on_hand)
    for j, (bucket, chance, most) in enumerate(
        (
            ("reserved", 0.35, 0.08),
            ("locked", 0.06, 0.10),
            ("defective", 0.03, 0.03),
            ("pending_review", 0.05, 0.03),
            ("unpaid", 0.05, 0.02),
        )
    ):
        if left > 0 and flag[j] < chance:
            units = min(left, 1 + int(amount[j] * most * on_hand))
            row[bucket] = units
            left -= units
    if flag[5] < 0.12:
        row["in_transit"] = 10 + int(amount[5] * max(on_hand, 50))
    return row


def _flagship_ids(catalog: list[_Sku]) -> list[str]:
    """The first b1 running shoes: ample clean stock, pinned to Tmall by `fixed`."""
    b1 = BRANDS[0]
    running = [s for s in catalog if s.brand is b1 and s.category == "running"]
    return [s.id for s in running[:FLAGSHIPS]]


def _velocity(rng: np.random.Generator, catalog: list[_Sku]) -> list[Doc]:
    """Per (SKU, shop of its brand): the SKU's speed split by platform pull and noise."""
    rows: list[Doc] = []
    for sku in catalog:
        shops = sku.brand.shops
        noise = rng.lognormal(mean=0.0, sigma=0.45, size=len(shops))
        present = rng.random(len(shops))
        if sku.speed <= 0:
            continue
        pull = np.array([PLATFORM_PULL[s.platform] for s in shops]) * noise
        rates = sku.speed * pull / pull.sum()
        for j, shop in enumerate(shops):
            rate = round(float(rates[j]), 2)
            # Shops other than the brand's first often have no sales of a SKU at all.
            if rate < 0.01 or j > 0 and present[j] < 0.15:
                continue
            rows.append({"sku": sku.id, "shop": shop.id, "units_per_day": rate})
    return rows


def _listed(rng: np.random.Generator, catalog: list[_Sku], stock: list[Doc]) -> list[Doc]:
    """What the platforms show now: roughly a share of stock, sometimes more (a check
    finds those), sometimes a stale listing of a SKU that ran out."""
    held: dict[str, int] = {}
    for row in stock:
        if row["warehouse"] in SELLABLE:
            free = row["on_hand"] - sum(row.get(b, 0) for b in ("locked", "reserved", "defective"))
            held[row["sku"]] = held.get(row["sku"], 0) + max(free, 0)
    rows: list[Doc] = []
    for sku in catalog:
        shops = sku.brand.shops
        draw = rng.random((len(shops), 3))
        have = held.get(sku.id, 0)
        for j, shop in enumerate(shops):
            if draw[j, 0] > 0.7:
                continue
            if draw[j, 1] < 0.04:
                quantity = have + 1 + int(draw[j, 2] * 20)
            elif have == 0:
                continue
            else:
                quantity = int(have * PLATFORM_PULL[shop.platform] / 3 * (0.5 + draw[j, 2]))
            rows.append({"sku": sku.id, "shop": shop.id, "quantity": quantity})
    return rows


def _snapshot(catalog: list[_Sku], stock: list[Doc], velocity: list[Doc], listed: list[Doc]) -> Doc:
    shops = []
    for brand in BRANDS:
        for spec in brand.shops:
            shop: Doc = {
                "id": spec.id,
                "brand": brand.id,
                "platform": spec.platform,
                "priority": spec.priority,
            }
            if spec.warehouses is not None:
                shop["warehouses"] = list(spec.warehouses)
            shops.append(shop)
    return {
        "tenant": "demo",
        "as_of": AS_OF,
        "mode": "normal",
        "brands": [{"id": b.id, "name": b.name} for b in BRANDS],
        "warehouses": [dict(w) for w in WAREHOUSES],
        "shops": shops,
        "skus": [
            {
                "id": s.id,
                "brand": s.brand.id,
                "category": s.category,
                "tags": s.tags,
                "price": f"{s.yuan}.{s.brand.cents}",
                "components": [{"sku": c, "qty": q} for c, q in s.components],
            }
            for s in catalog
        ],
        "stock": stock,
        "velocity": velocity,
        "listed": listed,
    }


def _jd_capacity(catalog: list[_Sku], stock: list[Doc]) -> int:
    """A JD shop capacity that binds: well below the shop's natural share of the brand's
    stock, well above its fixed units."""
    b1 = {s.id for s in catalog if s.brand is BRANDS[0]}
    units = sum(r["on_hand"] for r in stock if r["sku"] in b1 and r["warehouse"] in SELLABLE)
    return max(100, units // 10 // 100 * 100)


def _ruleset(catalog: list[_Sku], stock: list[Doc]) -> Doc:
    flagships = _flagship_ids(catalog)
    kit = next(s for s in catalog if s.brand is BRANDS[1] and s.components)
    rules: list[Doc] = [
        # Pool and supply
        {
            "id": "r-composition",
            "type": "stock_composition",
            "pending_review": True,
            "unpaid": True,
        },
        {
            "id": "r-composition-home-inbound",
            "type": "stock_composition",
            "scope": {"brand": "b3", "warehouse": "wh-gz"},
            "pending_review": True,
            "unpaid": True,
            "in_transit": True,
        },
        {"id": "r-no-defect-wh", "type": "exclude_warehouse", "warehouses": ["wh-defect"]},
        {
            "id": "r-kit-lumina-override",
            "type": "bundle",
            "scope": {"brand": "b2"},
            "sku": kit.id,
            # The gift set now ships with one more of its first item.
            "components": [
                {"sku": c, "qty": q + 1 if j == 0 else q} for j, (c, q) in enumerate(kit.components)
            ],
        },
        # Reserves
        {"id": "r-safety-b1", "type": "safety_stock", "scope": {"brand": "b1"}, "quantity": 2},
        {"id": "r-safety-b2", "type": "safety_stock_pct", "scope": {"brand": "b2"}, "percent": 5},
        {"id": "r-safety-b3", "type": "safety_stock_days", "scope": {"brand": "b3"}, "days": 2},
        {
            "id": "r-safety-pdd-b3",
            "type": "safety_stock",
            "scope": {"shop": "pdd-b3"},
            "shop": "pdd-b3",
            "quantity": 3,
        },
        {"id": "r-zero-below", "type": "zero_below", "threshold": 2},
        {
            "id": "r-low-hero-tmall",
            "type": "exclusive_when_low",
            "scope": {"brand": "b1", "tags": ["hero"]},
            "threshold": 12,
            "shop": "tm-b1",
        },
        {
            "id": "r-hold-tm-b2-hero",
            "type": "promotion_hold",
            "scope": {"brand": "b2", "tags": ["hero"]},
            "shop": "tm-b2",
            "percent": 15,
            "active_from": CAMPAIGN_FROM,
            "active_to": CAMPAIGN_TO,
        },
        {
            "id": "r-lock-tm-b2",
            "type": "shop_lock",
            "scope": {"brand": "b2"},
            "shop": "tm-b2",
        },
        # Shares: the most specific rule per SKU wins
        {"id": "r-b1-velocity", "type": "velocity_proportional", "scope": {"brand": "b1"}},
        {
            "id": "r-b1-running-cover",
            "type": "days_of_cover_balance",
            "scope": {"brand": "b1", "category": "running"},
        },
        {
            "id": "r-b1-sandals-tiers",
            "type": "tiered_percentage",
            "scope": {"brand": "b1", "category": "sandals"},
            "tiers": [
                {"threshold": 30, "shares": {"tm-b1": 1.0}},
                {"threshold": 200, "shares": {"tm-b1": 0.6, "jd-b1": 0.4}},
                {"shares": {"tm-b1": 0.4, "jd-b1": 0.25, "dy-b1": 0.2, "pdd-b1": 0.15}},
            ],
        },
        {
            "id": "r-b1-socks-shared",
            "type": "shared_pool",
            "scope": {"brand": "b1", "category": "socks"},
            "shops": ["tm-b1", "jd-b1", "dy-b1"],
        },
        {
            "id": "r-b1-clearance-fill",
            "type": "priority_fill",
            "scope": {"brand": "b1", "tags": ["clearance"]},
            "priority": 5,
            "shops": ["pdd-b1", "dy-b1", "jd-b1"],
            "quantities": {"pdd-b1": 60, "dy-b1": 40},
        },
        {
            "id": "r-b1-new-launch",
            "type": "new_product",
            "scope": {"brand": "b1", "tags": ["new"]},
            "priority": 10,
        },
        {
            "id": "r-b2-split",
            "type": "percentage",
            "scope": {"brand": "b2"},
            "shares": {"tm-b2": 0.5, "jd-b2": 0.3, "dy-b2": 0.2},
        },
        {
            "id": "r-b2-lipstick-weights",
            "type": "weighted",
            "scope": {"brand": "b2", "category": "lipstick"},
            "weights": {"tm-b2": 3, "jd-b2": 1, "dy-b2": 2},
        },
        {
            "id": "r-b2-skincare-cover",
            "type": "cover_target",
            "scope": {"brand": "b2", "category": "skincare"},
            "days": 14,
        },
        {
            "id": "r-b2-new-launch",
            "type": "new_product",
            "scope": {"brand": "b2", "tags": ["new"]},
            "priority": 10,
            "shares": {"tm-b2": 0.6, "dy-b2": 0.4},
        },
        {"id": "r-b3-abc", "type": "velocity_class", "scope": {"brand": "b3"}},
        {
            "id": "r-b3-bedding-equal",
            "type": "equal_split",
            "scope": {"brand": "b3", "category": "bedding"},
            "shops": ["tm-b3", "jd-b3"],
        },
        {
            "id": "r-b3-kitchen-wdt",
            "type": "percentage_offset",
            "scope": {"brand": "b3", "category": "kitchen"},
            "shares": {"tm-b3": 0.5, "jd-b3": 0.3, "pdd-b3": 0.2},
            "offsets": {"tm-b3": 2, "pdd-b3": -1},
        },
        {
            "id": "r-b3-double12-jd",
            "type": "percentage",
            "scope": {"brand": "b3", "category": "decor"},
            "shares": {"tm-b3": 0.3, "jd-b3": 0.7},
        },
        # Fixed quantities, caps and floors
        {
            "id": "r-fixed-flagships",
            "type": "fixed",
            "scope": {"skus": flagships},
            "quantities": {"tm-b1": 30},
        },
        {"id": "r-cap-pdd", "type": "max_cap", "scope": {"platform": "pdd"}, "quantity": 150},
        {
            "id": "r-floor-hero-tmall",
            "type": "min_floor",
            "scope": {"platform": "tmall", "tags": ["hero"]},
            "quantity": 5,
        },
        {
            "id": "r-delist-douyin",
            "type": "min_or_delist",
            "scope": {"platform": "douyin"},
            "threshold": 3,
        },
        {
            "id": "r-pack-masks",
            "type": "pack_size",
            "scope": {"brand": "b2", "category": "masks"},
            "quantity": 5,
        },
        {
            "id": "r-capacity-jd-b1",
            "type": "shop_capacity",
            "scope": {"shop": "jd-b1"},
            "quantities": {"jd-b1": _jd_capacity(catalog, stock)},
        },
        # Promotion and publishing
        {
            "id": "r-uplift-dy-b1",
            "type": "promotion_uplift",
            "scope": {"brand": "b1"},
            "shops": ["dy-b1"],
            "factor": 1.8,
        },
        {
            "id": "r-double11",
            "type": "campaign_window",
            "active_from": CAMPAIGN_FROM,
            "active_to": CAMPAIGN_TO,
            "rules": ["r-uplift-dy-b1", "r-hold-tm-b2-hero"],
        },
        {
            "id": "r-double12",
            "type": "campaign_window",
            "active_from": DOUBLE12_FROM,
            "active_to": DOUBLE12_TO,
            "rules": ["r-b3-double12-jd"],
        },
        {"id": "r-sync", "type": "sync_threshold", "threshold": 5, "bands": [10]},
    ]
    return {"rules": rules}


def _history(
    seed: int,
    catalog: list[_Sku],
    velocity: list[Doc],
    days: int,
    as_of: str = AS_OF,
    peak: dict[date, float] | None = None,
) -> list[Doc]:
    """`days` days of sales before `as_of` for every (SKU, shop of its brand): demand
    drawn from the velocity rows' rates (0 where there is none) times the day's `peak`
    factor (1 on other days), cut by stockout spells and short listings. A generator of
    its own (from the seed), so the rest of the demo is the same bytes with or without
    history."""
    rng = np.random.default_rng([seed, days])
    first = date.fromisoformat(as_of[:10]) - timedelta(days=days)
    rate_of = {(r["sku"], r["shop"]): r["units_per_day"] for r in velocity}
    cells = [(sku.id, shop.id) for sku in catalog for shop in sku.brand.shops]
    rate = np.array([rate_of.get(cell, 0.0) for cell in cells])
    # Imported here: the demo's defaults are read by every `omnistock` command's start,
    # and engine.demand is ~25 ms of imports only the history needs.
    from engine.demand.simulate import StockoutSpells, short_listings

    spells = StockoutSpells(rng, len(cells), start=0.03, end=0.3)
    units = np.zeros((len(cells), days), dtype=np.int64)
    listed = np.zeros((len(cells), days), dtype=np.int64)
    for t in range(days):
        factor = (peak or {}).get(first + timedelta(days=t))
        day_rate = rate if factor is None else rate * factor
        day_listed = short_listings(rng, spells.next_day(), day_rate, short=0.05)
        units[:, t] = np.minimum(rng.poisson(day_rate), day_listed)
        # An unlimited listing is written as what the shop had up: more than it sold.
        listed[:, t] = np.where(day_listed > units[:, t] + 50, units[:, t] + 50, day_listed)
    start = first.isoformat()
    rows = []
    for k, (sku, shop) in enumerate(cells):
        row: Doc = {"sku": sku, "shop": shop, "start": start, "units": units[k].tolist()}
        if (units[k] >= listed[k]).any():  # the listed quantities only where they tell
            row["listed"] = listed[k].tolist()
        rows.append(row)
    return rows


def build_demo(
    seed: int = DEFAULT_SEED,
    skus: int = DEFAULT_SKUS,
    history_days: int = 0,
    after_campaign: bool = False,
) -> tuple[Doc, Doc]:
    """The demo snapshot and ruleset as plain data (interchange format v1). With
    `history_days`, the snapshot carries that many days of sales history instead of
    velocity rows (the planner then estimates the velocities: engine.demand).
    `after_campaign`: the snapshot is taken at AFTER_CAMPAIGN_AS_OF and its history
    (`history_days`, at least the campaign's) has the Double-11 peak: what a campaign
    report reads (engine/reports/demo.py)."""
    if skus < 100:
        raise ValueError("the demo needs at least 100 SKUs")
    if not 0 <= history_days <= 366:
        raise ValueError("history_days is 0 (none) to 366")
    rng = np.random.default_rng(seed)
    catalog = _catalog(rng, skus)
    _speeds(rng, catalog)
    stock = _stock(rng, catalog)
    velocity = _velocity(rng, catalog)
    listed = _listed(rng, catalog, stock)
    snapshot = _snapshot(catalog, stock, velocity, listed)
    if after_campaign:
        snapshot["as_of"] = AFTER_CAMPAIGN_AS_OF
        history_days = max(history_days, len(DOUBLE11_PEAK))
    if history_days:
        snapshot["velocity"] = []
        as_of, peak = (AFTER_CAMPAIGN_AS_OF, DOUBLE11_PEAK) if after_campaign else (AS_OF, None)
        snapshot["history"] = _history(seed, catalog, velocity, history_days, as_of, peak)
    return snapshot, _ruleset(catalog, stock)


def write_demo(
    directory: Path, seed: int = DEFAULT_SEED, skus: int = DEFAULT_SKUS, history_days: int = 0
) -> list[Path]:
    """Write snapshot.json and rules.yaml into directory; returns their paths."""
    snapshot, ruleset = build_demo(seed, skus, history_days)
    directory.mkdir(parents=True, exist_ok=True)
    snap_path, rules_path = directory / "snapshot.json", directory / "rules.yaml"
    dump_json(snapshot, snap_path)
    text = yaml.safe_dump(ruleset, sort_keys=False, allow_unicode=True, width=100)
    rules_path.write_text(text, encoding="utf-8", newline="\n")
    return [snap_path, rules_path]
