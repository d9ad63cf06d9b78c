"""The figures of a brand's campaign or monthly report, from its inputs (inputs.py): one
function per section, each figure with its definition in both languages.

A section with nothing to show (no sales in the window, no plan published, no
settlement run for the month) says so in `Section.empty` and never fails. Avoidable lost
sales, stranded stock, units oversold and sell-through are the scenarios' KPIs
(engine/scenarios/kpis.py `KPI`), computed by the registry's own functions from counts
of what actually happened.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.core.snapshot import ListedRow
from engine.listing.listed import LESS, MORE, NO_ITEM, drift
from engine.reports.inputs import ReportInputs
from engine.reports.model import Chart, Column, Figure, Report, Section, Table, Text, Value
from engine.scenarios.kpis import KPI, Totals
from engine.settlement.output import HELD_OUTCOMES

__all__ = ["TOP", "build_report", "lost_demand", "stockout_days"]

I64 = NDArray[np.int64]
Mask = NDArray[np.bool_]

TOP = 10  # products in each of the top and bottom tables

_DAY = Column("day", Text("Day", "日期"), "date")
_SHOP = Column("shop", Text("Shop", "店铺"), "text")
_SKU = Column("sku", Text("SKU", "SKU"), "text")
_UNITS = Column("units", Text("Units sold", "销量(件)"), "units")
_GMV = Column("gmv", Text("GMV", "销售额"), "money")

UNITS_DEF = Text(
    "Units sold on the brand's shops in the window, from the sales feed (history).",
    "窗口内品牌各店铺的销售件数，取自销售数据（history）。",
)
GMV_DEF = Text(
    "Units sold x the SKU's price in the snapshot, summed (yuan).",
    "销量 x 快照中 SKU 的价格之和（元）。",
)


def _fen_of(text: Any) -> int:
    """Money text of a settlement document ('399.00') as whole fen."""
    return int(Decimal(str(text)) * 100)


def _nothing(key: str, title: Text, en: str, zh: str) -> Section:
    """A section that says, in both languages, why it has nothing to show."""
    return Section(key, title, empty=Text(en, zh))


def _gmv(inputs: ReportInputs) -> I64:
    """[skus, shops, days] units x price in fen."""
    return inputs.units * inputs.price_fen[:, None, None]


# --- sales -------------------------------------------------------------------------


def sales_section(inputs: ReportInputs) -> Section:
    title = Text("Sales by shop and day", "分店铺、分日销售")
    units = inputs.units
    if not inputs.covered.any():
        return _nothing(
            "sales",
            title,
            "No sales feed covers the window: the snapshot has no history for these days.",
            "没有覆盖该窗口的销售数据：快照中没有这些日期的 history。",
        )
    if not units.any():
        return _nothing(
            "sales",
            title,
            f"Brand {inputs.brand} sold nothing in the window {inputs.start} to {inputs.end}.",
            f"品牌 {inputs.brand} 在 {inputs.start} 至 {inputs.end} 期间没有销售。",
        )
    gmv = _gmv(inputs)
    total_units, total_gmv = int(units.sum()), int(gmv.sum())
    by_day_units, by_day_gmv = units.sum(axis=(0, 1)), gmv.sum(axis=(0, 1))
    by_shop_units, by_shop_gmv = units.sum(axis=(0, 2)), gmv.sum(axis=(0, 2))
    by_shop_day = units.sum(axis=0)  # [shops, days]
    by_day = Table(
        "by_day",
        Text("Sales by day", "每日销售"),
        (_DAY, _UNITS, _GMV),
        tuple((day, int(by_day_units[d]), int(by_day_gmv[d])) for d, day in enumerate(inputs.days)),
    )
    share = Column("share", Text("Share of units", "销量占比"), "share")
    by_shop = Table(
        "by_shop",
        Text("Sales by shop", "分店铺销售"),
        (_SHOP, _UNITS, _GMV, share),
        tuple(
            (
                shop,
                int(by_shop_units[p]),
                int(by_shop_gmv[p]),
                float(by_shop_units[p] / total_units),
            )
            for p, shop in enumerate(inputs.shops)
        ),
    )
    # Keyed apart from "day" whatever a shop is called.
    shop_columns = tuple(Column(f"shop.{shop}", Text(shop, shop), "units") for shop in inputs.shops)
    by_shop_day_table = Table(
        "by_shop_day",
        Text("Units sold by shop and day", "分店铺每日销量"),
        (_DAY, *shop_columns),
        tuple((day, *(int(v) for v in by_shop_day[:, d])) for d, day in enumerate(inputs.days)),
    )
    return Section(
        "sales",
        title,
        figures=(
            Figure("units", Text("Units sold", "销量"), "units", total_units, UNITS_DEF),
            Figure("gmv", Text("GMV", "销售额"), "money", total_gmv, GMV_DEF),
            Figure(
                "selling_shops",
                Text("Shops that sold", "有销售的店铺"),
                "units",
                int((by_shop_units > 0).sum()),
                Text(
                    "Shops of the brand with at least one unit sold in the window.",
                    "窗口内至少售出一件的品牌店铺数。",
                ),
            ),
        ),
        tables=(by_day, by_shop, by_shop_day_table),
        charts=(
            Chart(
                "units_by_shop_day",
                Text("Units sold by shop and day", "分店铺每日销量"),
                "line",
                "by_shop_day",
                "day",
                tuple(c.key for c in shop_columns),
            ),
            Chart(
                "gmv_by_shop",
                Text("GMV by shop", "分店铺销售额"),
                "column",
                "by_shop",
                "shop",
                ("gmv",),
            ),
        ),
    )


# --- stock: sell-through, stockouts, lost sales, stranded ----------------------------


def stockout_days(inputs: ReportInputs) -> Mask:
    """[skus, shops, days] a shop listed the SKU at 0 while another shop of the brand
    sold it that day."""
    sold = inputs.units > 0
    elsewhere = sold.sum(axis=1, keepdims=True) - sold > 0
    return inputs.out_of_stock & elsewhere


def lost_demand(inputs: ReportInputs) -> I64:
    """[skus, shops, days] demand an out-of-stock day lost, estimated from the cell's own
    sales on its days on sale (covered and not out) spread over the days as the brand's
    sales are: sold on sale x the brand's units that day / the brand's units on the
    cell's days on sale, rounded half up to whole units. A campaign's peak day lost more
    than a quiet one. 0 on the days on sale and for a cell never on sale in the window."""
    on_sale = inputs.covered & ~inputs.out_of_stock
    brand = inputs.units.sum(axis=(0, 1))  # [days]
    sold = np.where(on_sale, inputs.units, 0).sum(axis=2)[:, :, None]
    base = np.where(on_sale, brand, 0).sum(axis=2)[:, :, None]
    # In whole numbers: the estimate is a ratio of counts, rounded without float drift.
    share = (2 * sold * brand + base) // np.maximum(2 * base, 1)
    return np.where(inputs.out_of_stock & (base > 0), share, 0).astype(np.int64)


def avoidable(inputs: ReportInputs, lost: I64) -> I64:
    """[skus, shops, days] the lost demand the SKU's stock left at the end of that day
    could have served: per SKU and day, shops in order (priority, id), each capped by
    what the earlier shops' avoidable units left (the scenarios' definition)."""
    reach = np.cumsum(lost, axis=1)
    capped = np.minimum(reach, np.maximum(inputs.stock_end, 0)[:, None, :])
    return np.diff(capped, axis=1, prepend=0)


def oversold(inputs: ReportInputs) -> I64:
    """[skus, shops, days] units sold above what was listed, where the feed says."""
    known = inputs.listed >= 0
    return np.where(known, np.maximum(inputs.units - inputs.listed, 0), 0)


def _totals(inputs: ReportInputs, avoidable_units: I64, oversold_units: I64) -> Totals:
    """The scenarios' counts of what actually happened in the window."""
    sold = int(inputs.units.sum())
    left = np.maximum(inputs.stock_end[:, -1], 0)
    covered_end = inputs.listed_end.sum(axis=1)
    totals = Totals(days=len(inputs.days), n_shops=len(inputs.shops))
    totals.units_sold = sold
    totals.revenue = int(_gmv(inputs).sum()) / 100
    # No arrivals are in the feed: the stock at the start is what was left plus sold.
    totals.physical_start = int(left.sum()) + sold
    totals.avoidable_lost_sales = int(avoidable_units.sum())
    totals.units_oversold = int(oversold_units.sum())
    totals.unsold_units_end = int(left.sum())
    totals.stranded_units_end = int(np.maximum(left - covered_end, 0).sum())
    return totals


def _kpi(totals: Totals, name: str) -> float:
    return float(KPI[name].of(totals))


SELL_THROUGH_DEF = Text(
    "Units sold / (units sold + physical units left at the window's end); physical units "
    "as the scenarios count them (sellable stock of the supplying warehouses).",
    "销量 /（销量 + 窗口结束时剩余的实物库存）；实物库存口径同情景模拟（供货仓的可售库存）。",
)
STOCKOUT_DEF = Text(
    "SKU-days a shop listed the SKU at 0 while another shop of the brand sold it that day.",
    "某店铺将 SKU 上架数量为 0、而品牌另一店铺当天售出该 SKU 的 SKU-天数。",
)
AVOIDABLE_DEF = Text(
    "Demand lost on a day a shop listed 0 that the SKU's physical stock left at the end "
    "of that day could have served; shops in priority order, each capped by what the "
    "earlier ones left (the scenarios' avoidable_lost_sales). The lost demand is "
    "estimated: the shop's sales of the SKU on its days on sale in the window, spread "
    "over the days as the brand's sales are (a peak day lost more).",
    "店铺上架为 0 的日子里流失、且当天结束时该 SKU 剩余实物库存本可满足的需求；按店铺优先级"
    "依次扣减（同情景模拟的可避免缺货损失）。流失需求为估算：该店铺窗口内在售日的该 SKU 销量，"
    "按品牌每日销量的分布摊到各天（高峰日流失更多）。",
)
STRANDED_DEF = Text(
    "Per SKU, physical units at the window's end beyond what the shops' listings at the "
    "end cover, summed (the scenarios' stranded_units_end).",
    "每个 SKU 窗口结束时超出各店铺上架数量之和的实物库存，求和（同情景模拟的滞留库存）。",
)
OVERSOLD_DEF = Text(
    "Units sold above the quantity listed that day, where the feed gives it "
    "(the scenarios' units_oversold); 0 is shown, not hidden.",
    "超出当天上架数量的销量（销售数据给出上架数量时）；为 0 时照常显示。",
)


def stock_section(inputs: ReportInputs) -> Section:
    title = Text("Stock: sell-through, stockouts, lost sales", "库存：售罄率、缺货与损失")
    if not inputs.covered.any():
        return _nothing(
            "stock",
            title,
            "No sales feed covers the window: no stockouts or sell-through to show.",
            "没有覆盖该窗口的销售数据：无法计算缺货与售罄率。",
        )
    out = stockout_days(inputs)
    lost = lost_demand(inputs)
    saved = avoidable(inputs, lost)
    over = oversold(inputs)
    totals = _totals(inputs, saved, over)
    figures = (
        Figure(
            "sell_through",
            Text("Sell-through", "售罄率"),
            "share",
            _kpi(totals, "sell_through"),
            SELL_THROUGH_DEF,
        ),
        Figure(
            "units_left",
            Text("Units left", "剩余库存"),
            "units",
            int(totals.unsold_units_end),
            Text(
                "Physical units of the brand's SKUs at the window's end.",
                "窗口结束时品牌 SKU 的实物库存。",
            ),
        ),
        Figure(
            "stockout_days",
            Text("Stockout SKU-days", "缺货 SKU-天"),
            "units",
            int(out.sum()),
            STOCKOUT_DEF,
        ),
        Figure(
            "avoidable_lost_sales",
            Text("Avoidable lost sales", "可避免的缺货损失"),
            "units",
            int(_kpi(totals, "avoidable_lost_sales")),
            AVOIDABLE_DEF,
        ),
        Figure(
            "stranded_units_end",
            Text("Stranded stock", "滞留库存"),
            "units",
            int(_kpi(totals, "stranded_units_end")),
            STRANDED_DEF,
        ),
        Figure(
            "units_oversold",
            Text("Units oversold", "超卖件数"),
            "units",
            int(_kpi(totals, "units_oversold")),
            OVERSOLD_DEF,
        ),
    )
    by_shop = Table(
        "by_shop",
        Text("Stockouts by shop", "分店铺缺货"),
        (
            _SHOP,
            Column("stockout_days", Text("Stockout SKU-days", "缺货 SKU-天"), "units"),
            Column("lost", Text("Lost demand (est.)", "流失需求（估）"), "units"),
            Column("avoidable", Text("Avoidable lost sales", "可避免损失"), "units"),
        ),
        tuple(
            (
                shop,
                int(out[:, p].sum()),
                int(lost[:, p].sum()),
                int(saved[:, p].sum()),
            )
            for p, shop in enumerate(inputs.shops)
        ),
        note=STOCKOUT_DEF,
    )
    by_day = Table(
        "by_day",
        Text("Stockouts by day", "每日缺货"),
        (
            _DAY,
            Column("stockout_days", Text("Stockout SKU-days", "缺货 SKU-天"), "units"),
            Column("avoidable", Text("Avoidable lost sales", "可避免损失"), "units"),
        ),
        tuple(
            (day, int(out[:, :, d].sum()), int(saved[:, :, d].sum()))
            for d, day in enumerate(inputs.days)
        ),
    )
    categories = sorted(set(inputs.categories))
    cat = np.array([categories.index(c) for c in inputs.categories], dtype=np.int64)
    sold = inputs.units.sum(axis=(1, 2))
    left = np.maximum(inputs.stock_end[:, -1], 0)
    sold_by = np.bincount(cat, sold, len(categories)).astype(np.int64)
    left_by = np.bincount(cat, left, len(categories)).astype(np.int64)
    by_category = Table(
        "by_category",
        Text("Sell-through by category", "分品类售罄率"),
        (
            Column("category", Text("Category", "品类"), "text"),
            _UNITS,
            Column("left", Text("Units left", "剩余库存"), "units"),
            Column("sell_through", Text("Sell-through", "售罄率"), "share"),
        ),
        tuple(
            (
                name,
                int(sold_by[k]),
                int(left_by[k]),
                float(sold_by[k] / (sold_by[k] + left_by[k])) if sold_by[k] + left_by[k] else 0.0,
            )
            for k, name in enumerate(categories)
        ),
        note=SELL_THROUGH_DEF,
    )
    return Section(
        "stock",
        title,
        figures=figures,
        tables=(by_shop, by_day, by_category),
        charts=(
            Chart(
                "stockouts_by_day",
                Text("Stockout SKU-days by day", "每日缺货 SKU-天"),
                "column",
                "by_day",
                "day",
                ("stockout_days",),
            ),
            Chart(
                "sell_through_by_category",
                Text("Sell-through by category", "分品类售罄率"),
                "bar",
                "by_category",
                "category",
                ("sell_through",),
            ),
        ),
    )


# --- products ------------------------------------------------------------------------


def _ranked(
    order: I64, inputs: ReportInputs, units: I64, gmv: I64
) -> tuple[tuple[Value, ...], ...]:
    return tuple((inputs.skus[k], inputs.categories[k], int(units[k]), int(gmv[k])) for k in order)


def products_section(inputs: ReportInputs) -> Section:
    title = Text("Top and bottom products", "畅销与滞销商品")
    units = inputs.units.sum(axis=(1, 2))
    if not units.any():
        return Section(
            "products",
            title,
            empty=Text("No product of the brand sold in the window.", "窗口内品牌没有商品售出。"),
        )
    gmv = _gmv(inputs).sum(axis=(1, 2))
    columns = (_SKU, Column("category", Text("Category", "品类"), "text"), _UNITS, _GMV)
    ids = np.array(inputs.skus)
    offered = np.flatnonzero(units + np.maximum(inputs.stock_end[:, -1], 0) > 0)
    bottom_note = Text(
        "The products on offer (sold in the window or with stock left) that sold least.",
        "在售商品（窗口内有销售或有剩余库存）中销量最少的。",
    )

    def table(key: str, en: str, zh: str, by: I64, among: I64, top: bool) -> Table:
        # Ties go to the SKU id, so a rebuild lists the same products.
        order = among[np.lexsort((ids[among], -by[among] if top else by[among]))][:TOP]
        note = None if top else bottom_note
        return Table(key, Text(en, zh), columns, _ranked(order, inputs, units, gmv), note)

    sold = np.flatnonzero(units > 0)
    return Section(
        "products",
        title,
        tables=(
            table("top_units", f"Top {TOP} by units", f"销量前 {TOP}", units, sold, True),
            table("top_gmv", f"Top {TOP} by GMV", f"销售额前 {TOP}", gmv, sold, True),
            table("bottom_units", f"Bottom {TOP} by units", f"销量后 {TOP}", units, offered, False),
            table("bottom_gmv", f"Bottom {TOP} by GMV", f"销售额后 {TOP}", gmv, offered, False),
        ),
        charts=(
            Chart(
                "top_units",
                Text(f"Top {TOP} by units", f"销量前 {TOP}"),
                "bar",
                "top_units",
                "sku",
                ("units",),
            ),
        ),
    )


# --- plan against what sold -----------------------------------------------------------


PLAN_DEF = Text(
    "Per published plan and shop: the units the plan listed on the shop (its own "
    "quantity plus shared parts shown there) and the units of those SKUs the shop sold "
    "in the window; share sold = sold / listed.",
    "每个已发布计划、每个店铺：计划在该店铺上架的件数（独占数量加在该店展示的共享部分），"
    "以及窗口内该店铺这些 SKU 的销量；售出比例 = 销量 / 上架数。",
)


def plan_section(inputs: ReportInputs) -> Section:
    title = Text("Plan against what sold", "计划与实际销售")
    if not inputs.plans:
        return _nothing(
            "plan",
            title,
            "No plan was published for the window: nothing to compare sales with.",
            "该窗口没有发布的计划：无可对比的分配。",
        )
    sold = inputs.units.sum(axis=2)  # [skus, shops]
    rows = []
    for plan in inputs.plans:
        planned = plan.listed > 0
        for p, shop in enumerate(inputs.shops):
            listed = int(plan.listed[:, p].sum())
            units = int(np.where(planned[:, p], sold[:, p], 0).sum())
            rows.append((plan.plan_id, shop, listed, units, units / listed if listed else 0.0))
    return Section(
        "plan",
        title,
        tables=(
            Table(
                "by_shop",
                Text("Allocation and sales by shop", "分店铺分配与销售"),
                (
                    Column("plan", Text("Plan", "计划"), "text"),
                    _SHOP,
                    Column("listed", Text("Allocated", "分配"), "units"),
                    _UNITS,
                    Column("share_sold", Text("Share sold", "售出比例"), "share"),
                ),
                tuple(rows),
                note=PLAN_DEF,
            ),
        ),
        charts=(
            Chart(
                "allocated_vs_sold",
                Text("Allocated and sold by shop", "分店铺分配与销量"),
                "column",
                "by_shop",
                "shop",
                ("listed", "units"),
            ),
        ),
    )


# --- listings and prices ---------------------------------------------------------------


LISTING_DEF = Text(
    "Per shop, the share of (SKU, shop) cells whose quantity the platform listed at the "
    "window's end equals what the last published plan listed there (engine/listing "
    "drift); a cell off the platform counts as listed 0.",
    "每个店铺中，窗口结束时平台上架数量与最后一个已发布计划的数量一致的（SKU, 店铺）比例"
    "（engine/listing drift）；平台上没有的按 0 计。",
)


def _accuracy(inputs: ReportInputs) -> tuple[tuple[Figure, ...], Table, Chart]:
    """The last published plan against what the platforms listed at the end."""
    plan = inputs.plans[-1]
    cells = np.argwhere((plan.listed > 0) | (inputs.listed_end > 0))
    intended = {(inputs.shops[p], inputs.skus[s]): int(plan.listed[s, p]) for s, p in cells}
    # A cell listed at 0 has no row: drift tells it as no item on the platform.
    rows = [
        ListedRow(sku=inputs.skus[s], shop=inputs.shops[p], quantity=int(inputs.listed_end[s, p]))
        for s, p in cells
        if inputs.listed_end[s, p] > 0
    ]
    found = drift(intended, rows)
    compared = np.bincount(cells[:, 1], minlength=len(inputs.shops))
    reasons = (MORE, LESS, NO_ITEM)
    wrong = {shop: dict.fromkeys((*reasons, "other"), 0) for shop in inputs.shops}
    for d in found:
        wrong[d.shop][d.explanation if d.explanation in reasons else "other"] += 1
    table_rows = []
    for p, shop in enumerate(inputs.shops):
        n, bad = int(compared[p]), sum(wrong[shop].values())
        table_rows.append(
            (
                shop,
                n,
                n - bad,
                (n - bad) / n if n else 0.0,
                wrong[shop][MORE],
                wrong[shop][LESS],
                wrong[shop][NO_ITEM],
            )
        )
    total = int(compared.sum())
    figures = (
        Figure(
            "accuracy",
            Text("Listing accuracy", "上架准确率"),
            "share",
            (total - len(found)) / total if total else 0.0,
            LISTING_DEF,
        ),
        Figure(
            "cells",
            Text("Listings compared", "对比的上架"),
            "units",
            total,
            Text(
                "(SKU, shop) cells the plan or the platforms list.",
                "计划或平台上有数量的（SKU, 店铺）。",
            ),
        ),
    )
    table = Table(
        "by_shop",
        Text("Listing accuracy by shop", "分店铺上架准确率"),
        (
            _SHOP,
            Column("cells", Text("Compared", "对比数"), "units"),
            Column("equal", Text("As planned", "一致"), "units"),
            Column("accuracy", Text("Accuracy", "准确率"), "share"),
            Column("more", Text("Platform shows more", "平台多于计划"), "units"),
            Column("less", Text("Platform shows less", "平台少于计划"), "units"),
            Column("no_item", Text("Not on the platform", "平台无商品"), "units"),
        ),
        tuple(table_rows),
        note=LISTING_DEF,
    )
    chart = Chart(
        "accuracy_by_shop",
        Text("Listing accuracy by shop", "分店铺上架准确率"),
        "column",
        "by_shop",
        "shop",
        ("accuracy",),
    )
    return figures, table, chart


COMPLETENESS_DEF = Text(
    "Per platform of the brand's shops: products checked against the platform's category "
    "requirements, those ready to list (nothing missing or invalid), and the mean share "
    "of required fields present and valid (the catalog's completeness).",
    "品牌店铺所在的每个平台：按平台类目要求检查的商品数、可直接上架（无缺失或错误）的商品数，"
    "以及必填字段齐全且有效的平均比例（商品库的完整度）。",
)


def _completeness(inputs: ReportInputs) -> tuple[tuple[Figure, ...], Table, Chart]:
    rows = inputs.completeness
    products = sum(r.products for r in rows)
    ready = sum(r.ready for r in rows)
    figure = Figure(
        "ready",
        Text("Products ready to list", "可上架商品比例"),
        "share",
        ready / products if products else 0.0,
        COMPLETENESS_DEF,
    )
    table = Table(
        "completeness",
        Text("Listing completeness by platform", "分平台上架完整度"),
        (
            Column("platform", Text("Platform", "平台"), "text"),
            Column("products", Text("Products", "商品数"), "units"),
            Column("ready", Text("Ready to list", "可上架"), "units"),
            Column("ready_share", Text("Share ready", "可上架比例"), "share"),
            Column("mean_score", Text("Mean completeness", "平均完整度"), "share"),
        ),
        tuple(
            (
                r.platform,
                r.products,
                r.ready,
                r.ready / r.products if r.products else 0.0,
                r.mean_score,
            )
            for r in rows
        ),
        note=COMPLETENESS_DEF,
    )
    chart = Chart(
        "completeness_by_platform",
        Text("Mean completeness by platform", "分平台平均完整度"),
        "column",
        "completeness",
        "platform",
        ("mean_score",),
    )
    return (figure,), table, chart


def listing_section(inputs: ReportInputs) -> Section:
    title = Text("Listings: accuracy and completeness", "上架：准确率与完整度")
    if not inputs.plans and not inputs.completeness:
        return _nothing(
            "listing",
            title,
            "No plan was published for the window and the catalog has no completeness "
            "check of the brand's products: no listing to judge.",
            "该窗口没有发布的计划，商品库也没有该品牌商品的完整度检查：无可评估的上架。",
        )
    parts = []
    if inputs.plans:
        parts.append(_accuracy(inputs))
    if inputs.completeness:
        parts.append(_completeness(inputs))
    return Section(
        "listing",
        title,
        figures=tuple(f for figures, _, _ in parts for f in figures),
        tables=tuple(table for _, table, _ in parts),
        charts=tuple(chart for _, _, chart in parts),
    )


BREACH_DEF = Text(
    "(SKU, shop) rows of the price guard's newest check where the lowest price a buyer "
    "can reach with the shop's promotions stacked is below the SKU's floor.",
    "价格守护最近一次检查中，叠加店铺优惠后买家可达最低价低于 SKU 底价的（SKU, 店铺）行。",
)
MAY_BREACH_DEF = Text(
    "Rows of the same check whose basket search could not prove the lowest price stays "
    "at or above the floor: it may fall below it.",
    "同一次检查中，购物篮搜索无法证明最低价不低于底价、可能破价的行。",
)


def prices_section(inputs: ReportInputs) -> Section:
    title = Text("Price-guard breaches", "价格守护破价")
    if inputs.prices is None:
        return _nothing(
            "prices",
            title,
            "The price guard has not checked the brand's prices (no price policy).",
            "价格守护尚未检查该品牌的价格（没有价格策略）。",
        )
    rows = inputs.prices.breaches
    count = {s: sum(r["status"] == s for r in rows) for s in ("breach", "may_breach")}
    return Section(
        "prices",
        title,
        figures=(
            Figure("breaches", Text("Breaches", "破价"), "units", count["breach"], BREACH_DEF),
            Figure(
                "may_breach",
                Text("May breach", "可能破价"),
                "units",
                count["may_breach"],
                MAY_BREACH_DEF,
            ),
        ),
        tables=(
            Table(
                "breaches",
                Text("Rows below the floor", "低于底价的行"),
                (
                    _SKU,
                    _SHOP,
                    Column("base", Text("Price", "价格"), "money"),
                    Column("lowest", Text("Lowest reachable", "可达最低价"), "money"),
                    Column("floor", Text("Floor", "底价"), "money"),
                    Column("status", Text("Status", "状态"), "term"),
                ),
                tuple(
                    (
                        r["sku"],
                        r["shop"],
                        _fen_of(r["base"]),
                        _fen_of(r["lowest"]),
                        None if r.get("floor") is None else _fen_of(r["floor"]),
                        str(r["status"]),
                    )
                    for r in rows
                ),
                note=Text(
                    f"Check {inputs.prices.check_id} at {inputs.prices.at}.",
                    f"检查 {inputs.prices.check_id}，时间 {inputs.prices.at}。",
                ),
            ),
        ),
    )


# --- settlement ---------------------------------------------------------------------------


SETTLEMENT_DEF = Text(
    "From the bill of the brand's settlement run of the month: the same document as the "
    "settlement API's bill (GET /v1/settlements/{id}/bill).",
    "取自该品牌当月结算运行的账单：与结算 API 的账单（GET /v1/settlements/{id}/bill）相同。",
)
SETTLED_GMV_DEF = Text(
    "Money buyers paid for the month's orders matched three ways (order, payment, "
    "shipment), before refunds: the bill's GMV.",
    "当月三方匹配（订单、支付、出库）成功的订单的买家实付金额（退款前）：账单的 GMV。",
)
FEE_DEF = Text(
    "The agency's fee the contract gives for the month, the top-up to a minimum fee "
    "included: the bill's fee.",
    "按合同计算的当月代运营服务费（含保底补足）：账单的服务费。",
)
HELD_DEF = Text(
    "Orders held out of the bill by an exception (no payment, short or over, not "
    "shipped, a duplicate...) until someone resolves them: the bill's held orders.",
    "因异常（无付款、少付或多付、未发货、重复等）暂缓入账、待人工处理的订单：账单的暂缓订单。",
)
HELD_AMOUNT_DEF = Text("The order amounts of the held orders.", "暂缓订单的订单金额之和。")


def settlement_section(inputs: ReportInputs) -> Section:
    title = Text("Settlement", "结算")
    if not inputs.settlements:
        return _nothing(
            "settlement",
            title,
            f"No settlement run of brand {inputs.brand} is done for the window's month.",
            f"品牌 {inputs.brand} 在该窗口所在月份没有完成的结算运行。",
        )
    bills = [run.bill for run in inputs.settlements]
    gmv = sum(_fen_of(b["gmv"]) for b in bills)
    fee = sum(_fen_of(b["fee"]) for b in bills)
    held = sum(int(b["held"]) for b in bills)
    held_amount = sum(_fen_of(b["held_amount"]) for b in bills)
    lines = tuple(
        (
            run.period,
            # The top-up to a minimum fee is a line of no shop.
            str(line["shop"] or line["kind"]),
            _fen_of(line["gmv"]),
            _fen_of(line["refunds"]),
            _fen_of(line["settled"]),
            int(line["orders"]),
            _fen_of(line["fee"]),
            int(line["held"]),
            _fen_of(line["held_amount"]),
        )
        for run in inputs.settlements
        for line in run.bill["lines"]
    )
    held_names = sorted(o.value for o in HELD_OUTCOMES)
    outcomes = tuple(
        (run.period, name, int(run.outcomes.get(name, 0)))
        for run in inputs.settlements
        for name in held_names
        if run.outcomes.get(name, 0)
    )
    return Section(
        "settlement",
        title,
        figures=(
            Figure("gmv", Text("Settled GMV", "结算 GMV"), "money", gmv, SETTLED_GMV_DEF),
            Figure("fee", Text("Fee", "服务费"), "money", fee, FEE_DEF),
            Figure("held", Text("Held orders", "暂缓订单"), "units", held, HELD_DEF),
            Figure(
                "held_amount",
                Text("Held amount", "暂缓金额"),
                "money",
                held_amount,
                HELD_AMOUNT_DEF,
            ),
        ),
        tables=(
            Table(
                "lines",
                Text("Bill lines by shop", "分店铺账单"),
                (
                    Column("period", Text("Period", "期间"), "text"),
                    _SHOP,
                    Column("gmv", Text("GMV", "GMV"), "money"),
                    Column("refunds", Text("Refunds", "退款"), "money"),
                    Column("settled", Text("Settled", "结算额"), "money"),
                    Column("orders", Text("Orders", "订单数"), "units"),
                    Column("fee", Text("Fee", "服务费"), "money"),
                    Column("held", Text("Held", "暂缓"), "units"),
                    Column("held_amount", Text("Held amount", "暂缓金额"), "money"),
                ),
                lines,
                note=SETTLEMENT_DEF,
            ),
            Table(
                "held_outcomes",
                Text("Held exceptions by kind", "暂缓异常分类"),
                (
                    Column("period", Text("Period", "期间"), "text"),
                    Column("outcome", Text("Outcome", "结果"), "term"),
                    Column("records", Text("Records", "记录数"), "units"),
                ),
                outcomes,
            ),
        ),
        charts=(
            Chart(
                "gmv_by_shop",
                Text("Settled GMV by shop", "分店铺结算 GMV"),
                "column",
                "lines",
                "shop",
                ("gmv", "fee"),
            ),
        ),
    )


SECTIONS = (
    sales_section,
    stock_section,
    products_section,
    plan_section,
    listing_section,
    prices_section,
    settlement_section,
)


def build_report(inputs: ReportInputs) -> Report:
    """The report of the inputs' brand and window, every section in order."""
    kind = (
        Text("Campaign report", "活动报告")
        if inputs.kind == "campaign"
        else Text("Monthly report", "月度报告")
    )
    window = f"{inputs.start} - {inputs.end}"
    return Report(
        tenant=inputs.tenant,
        brand=inputs.brand,
        kind=inputs.kind,
        start=inputs.start,
        end=inputs.end,
        as_of=inputs.as_of,
        sections=tuple(section(inputs) for section in SECTIONS),
        sources=dict(inputs.sources),
        title=Text(
            f"{kind.en}: {inputs.brand_name}, {window}",
            f"{kind.zh}：{inputs.brand_name}，{window}",
        ),
    )
