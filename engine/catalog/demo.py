"""The demo's product master, shops and price policy, drawn from the demo snapshot.

`omnistock demo DIR` writes, beside snapshot.json and rules.yaml:
- catalog.csv: the 5,000 SKUs as a PIM exports them (one row per SKU, the product's
  columns repeated, Chinese headers, UTF-8 with a byte-order mark so Excel and WPS open
  it), grouped into products of one to three sizes or colours;
- shops.yaml: the ten shops with the settings their platforms' listings need (ship-from
  location, freight template);
- promotions.yaml: the Double-11 price policy: a minimum margin per brand and each shop's
  promotions.

The gaps are the ones agencies meet (a few percent each, drawn from the seed): products
without images, titles too wide for Taobao, a season no platform's value list knows,
SKUs without a weight; and a clearance cut on a handful of SKUs that, stacked with the
shop's coupons, takes them below their floor. Same seed, same bytes.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from engine.demo import AS_OF, CAMPAIGN_FROM, CAMPAIGN_TO

Doc = dict[str, Any]

# Master category paths of the demo's snapshot categories.
CATEGORY_PATHS = {
    "running": ("鞋靴", "跑步鞋"),
    "sneakers": ("鞋靴", "休闲鞋"),
    "sandals": ("鞋靴", "凉鞋"),
    "boots": ("鞋靴", "靴子"),
    "socks": ("服饰", "袜子"),
    "lipstick": ("美妆", "口红"),
    "skincare": ("美妆", "护肤"),
    "masks": ("美妆", "面膜"),
    "fragrance": ("美妆", "香水"),
    "bedding": ("家居", "床品"),
    "kitchen": ("家居", "厨具"),
    "storage": ("家居", "收纳"),
    "decor": ("家居", "装饰"),
    "sets": ("套装",),
}
# What a product of each top category is made of, and its options.
MATERIALS = {
    "鞋靴": ("网布", "真皮", "合成革"),
    "服饰": ("棉", "莫代尔", "羊毛"),
    "美妆": ("膏体", "乳液", "精华"),
    "家居": ("棉", "不锈钢", "陶瓷", "聚丙烯"),
    "套装": ("组合",),
}
# The attributes the platforms' categories ask of each top category, with the values a
# brand's PIM would hold (one is drawn per product).
ATTRIBUTES: dict[str, dict[str, tuple[str, ...]]] = {
    "鞋靴": {
        "适用性别": ("男", "女", "男女通用"),
        "鞋底材质": ("橡胶", "EVA", "MD"),
        "闭合方式": ("系带", "一脚蹬"),
        "跑鞋类型": ("缓震型", "稳定型", "竞速型"),
    },
    "服饰": {
        "适用性别": ("男", "女", "男女通用"),
        "安全等级": ("A类", "B类"),
        "执行标准": ("FZ/T 73001-2016",),
    },
    "美妆": {
        "功效": ("保湿", "补水", "修护", "持妆"),
        "净含量": ("3.5g", "30ml", "50ml", "100ml"),
        "化妆品备案编号": ("沪G妆网备字2026000001", "粤G妆网备字2026000002"),
        "规格类型": ("正常规格",),
        "生产企业名称": ("上海明澈化妆品有限公司",),
    },
    "家居": {"适用空间": ("卧室", "客厅", "厨房"), "风格": ("简约", "北欧", "日式")},
    "套装": {},
}
# Attributes some categories ask for only when another holds a value: leather uppers
# name the leather, cotton names its yarn count, kitchenware says it touches food.
CONDITIONAL = {
    "皮质特征": ("材质", "真皮", "头层牛皮"),
    "纱支": ("材质", "棉", "60支"),
    "食品接触用": ("适用空间", "厨房", "是"),
}
ATTRIBUTE_NAMES = tuple(
    dict.fromkeys([k for kinds in ATTRIBUTES.values() for k in kinds] + list(CONDITIONAL))
)
OPTIONS = {
    "鞋靴": ("尺码", ("39", "40", "41", "42", "43", "44")),
    "服饰": ("尺码", ("S", "M", "L", "XL")),
    "美妆": ("色号", ("01", "02", "03", "05", "08")),
    "家居": ("颜色", ("白色", "灰色", "蓝色", "米色")),
    "套装": ("规格", ("标准装",)),
}
SEASONS = ("春", "夏", "秋", "冬", "春秋")
# A season value no platform's value map lists: the demo's "unmapped attribute" gap.
UNMAPPED_SEASON = "四季通用"
HEADERS = (
    "品牌", "款号", "商品标题", "类目", "年份", "季节", "系列", "商品描述", "主图",
    "属性:材质", "属性:产地", "属性:品牌名", *(f"属性:{k}" for k in ATTRIBUTE_NAMES),
    "商家编码", "条形码", "规格", "吊牌价", "成本价",
    "重量(g)", "长(mm)", "宽(mm)", "高(mm)", "单位", "保质期(天)",
)  # fmt: skip
# Shares of products with each gap, and the number of SKUs whose floor the clearance
# cut breaks: their cost is CLEARANCE_COST of the list price, so 45% off goes below cost.
# Every other SKU costs at most half its list price, which keeps the deepest stack of the
# shop's own promotions (about 67% of the list price) above its floor.
NO_IMAGES, WIDE_TITLE, ODD_SEASON, NO_WEIGHT, NO_ATTRIBUTE = 0.03, 0.04, 0.03, 0.02, 0.03
CLEARANCE_SKUS, CLEARANCE_COST = 6, 0.62
COST_COLUMN = HEADERS.index("成本价")
# Ship-from cities of the shops (Taobao and Tmall listings name them).
LOCATIONS = {"b1": ("上海", "上海"), "b2": ("广东", "广州"), "b3": ("浙江", "杭州")}


def _products(snapshot: Doc, rng: np.random.Generator) -> list[list[Doc]]:
    """The snapshot's SKUs in products: runs of one to three SKUs of a brand and category."""
    groups: list[list[Doc]] = []
    for sku in snapshot["skus"]:
        last = groups[-1] if groups else None
        joins = (
            last is not None
            and len(last) < int(rng.integers(1, 4))
            and last[0]["brand"] == sku["brand"]
            and last[0]["category"] == sku["category"]
            and not sku["components"]
        )
        if joins and last is not None:
            last.append(sku)
        else:
            groups.append([sku])
    return groups


def _rows(snapshot: Doc, rng: np.random.Generator) -> tuple[list[list[str]], list[str]]:
    """The catalog rows, and the codes of the plain (not bundle) SKUs."""
    names = {b["id"]: b["name"] for b in snapshot["brands"]}
    rows: list[list[str]] = []
    plain: list[str] = []
    for number, skus in enumerate(_products(snapshot, rng), start=1):
        head = skus[0]
        path = CATEGORY_PATHS.get(head["category"], ("其他",))
        top = path[0]
        draw = rng.random(8)
        spu = f"{head['id']}-SPU" if len(skus) == 1 else f"{head['brand'].upper()}-P{number:05d}"
        year = 2026 - int(draw[0] * 2)
        title = f"{names[head['brand']]} {path[-1]} {year}新款 {number:05d}"
        if draw[1] < WIDE_TITLE:  # Chinese characters count twice on Taobao
            title += " 官方旗舰店正品保障限时特惠多色可选舒适百搭透气耐磨轻便款"
        season = UNMAPPED_SEASON if draw[2] < ODD_SEASON else SEASONS[int(draw[3] * 5)]
        images = (
            ""
            if draw[4] < NO_IMAGES
            else (f"https://img.example.com/{spu}/1.jpg;https://img.example.com/{spu}/2.jpg")
        )
        option, values = OPTIONS[top]
        material = MATERIALS[top][int(draw[5] * len(MATERIALS[top]))]
        wanted = ATTRIBUTES[top]
        picks = {k: v[int(rng.integers(len(v)))] for k, v in wanted.items()}
        picks["材质"] = material
        for name, (when, value, then) in CONDITIONAL.items():
            if picks.get(when) == value:
                picks[name] = then
        if wanted and draw[6] < NO_ATTRIBUTE:  # one attribute the PIM never filled in
            del picks[list(wanted)[int(draw[7] * len(wanted))]]
        attributes = [picks.get(k, "") for k in ATTRIBUTE_NAMES]
        for k, sku in enumerate(skus):
            price = sku["price"]
            cost = round(float(price) * float(rng.uniform(0.38, 0.5)), 2)
            weight = "" if rng.random() < NO_WEIGHT else str(int(rng.integers(80, 1500)))
            rows.append([
                head["brand"], spu, title, " > ".join(path), str(year), season,
                "经典系列", f"{title}。详情见图。", images, material, "中国", names[head["brand"]],
                *attributes,
                sku["id"], f"69{int(rng.integers(10**10, 10**11))}",
                f"{option}={values[k % len(values)]}", price, f"{cost:.2f}",
                weight, "300", "200", "120", "件", "" if top != "美妆" else "1095",
            ])  # fmt: skip
            if not sku["components"]:
                plain.append(sku["id"])
    return rows, plain


def _shops(snapshot: Doc) -> Doc:
    shops = []
    for shop in snapshot["shops"]:
        state, city = LOCATIONS[shop["brand"]]
        shops.append(
            {
                "id": shop["id"],
                "brand": shop["brand"],
                "platform": shop["platform"],
                "settings": {
                    "location.state": state,
                    "location.city": city,
                    "freight_template_id": f"ft-{shop['id']}",
                    "service_mobile": "021-60000000",
                },
            }
        )
    return {"shops": shops}


def _promotions(snapshot: Doc, clearance: list[str]) -> Doc:
    """Each shop's Double-11 promotions, and a clearance cut that breaks some floors."""
    window = {"start": CAMPAIGN_FROM, "end": CAMPAIGN_TO}
    out: list[Doc] = []
    for shop in snapshot["shops"]:
        sid, platform = shop["id"], shop["platform"]
        out.append({"id": f"{sid}-discount", "shop": sid, "kind": "item_discount",
                    "rate": "0.90", **window})  # fmt: skip
        out.append({"id": f"{sid}-coupon", "shop": sid, "kind": "shop_coupon",
                    "threshold": "199.00", "amount": "20.00", **window})  # fmt: skip
        if platform in ("tmall", "taobao"):
            out.append({"id": f"{sid}-cross-300-50", "shop": sid, "kind": "threshold",
                        "steps": [{"spend": "300.00", "save": "50.00"}], "repeat": True,
                        "cross_shop": True, **window})  # fmt: skip
        elif platform == "jd":
            out.append({"id": f"{sid}-200-20", "shop": sid, "kind": "threshold",
                        "steps": [{"spend": "200.00", "save": "20.00"}], "repeat": False,
                        "cross_shop": False, **window})  # fmt: skip
            out.append({"id": f"{sid}-jingtie", "shop": sid, "kind": "platform_coupon",
                        "threshold": "299.00", "amount": "30.00", **window})  # fmt: skip
        else:
            out.append({"id": f"{sid}-platform", "shop": sid, "kind": "platform_coupon",
                        "threshold": "99.00", "amount": "10.00", **window})  # fmt: skip
    brand_of = {s["id"]: s["brand"] for s in snapshot["skus"]}
    shops_of = {s["brand"]: s["id"] for s in reversed(snapshot["shops"])}  # the first shop
    by_shop: dict[str, list[str]] = {}
    for code in clearance:
        by_shop.setdefault(shops_of[brand_of[code]], []).append(code)
    for sid, codes in by_shop.items():
        out.append({"id": f"{sid}-clearance", "shop": sid, "kind": "item_discount",
                    "skus": codes, "rate": "0.55", **window})  # fmt: skip
    return {
        "as_of": AS_OF,
        "min_margin": {"default": "0.10", "brands": {"b2": "0.20"}},
        "promotions": out,
    }


def build_catalog(snapshot: Doc, seed: int) -> tuple[list[list[str]], Doc, Doc]:
    """The catalog rows (with HEADERS), the shops document and the price policy."""
    rng = np.random.default_rng([seed, 13])
    rows, plain = _rows(snapshot, rng)
    picks = rng.choice(len(plain), size=min(CLEARANCE_SKUS, len(plain)), replace=False)
    clearance = sorted(plain[int(p)] for p in picks)
    for row in rows:
        if row[HEADERS.index("商家编码")] in clearance:
            row[COST_COLUMN] = f"{float(row[HEADERS.index('吊牌价')]) * CLEARANCE_COST:.2f}"
    return rows, _shops(snapshot), _promotions(snapshot, clearance)


def write_catalog(directory: Path, snapshot: Doc, seed: int) -> list[Path]:
    """Write catalog.csv, shops.yaml and promotions.yaml into directory."""
    rows, shops, policy = build_catalog(snapshot, seed)
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / "catalog.csv", directory / "shops.yaml", directory / "promotions.yaml"]
    with paths[0].open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(HEADERS)
        writer.writerows(rows)
    for path, doc in zip(paths[1:], (shops, policy), strict=True):
        text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
        path.write_text(text, encoding="utf-8", newline="\n")
    return paths
