"""A report made by hand for the renderers' tests: every kind of value (text, units,
money with odd fen and a negative, shares, dates, a missing value), line, column and bar
charts (one with money beside units), a section with nothing to show, labels in English
and Chinese, and text that must be escaped (a SKU called `<script>`)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from engine.reports.model import Chart, Column, Figure, Report, Section, Table, Text

HOSTILE_SKU = "<script>alert('sku')</script>"
HOSTILE_SHOP = 'Shop "A" & <b>co</b>'

DAYS = (date(2026, 11, 10), date(2026, 11, 11), date(2026, 11, 12))

SALES = Section(
    key="sales",
    title=Text("Sales by day", "每日销售"),
    figures=(
        Figure(
            "units",
            Text("Units sold", "销量"),
            "units",
            1234,
            Text("Units ordered and not cancelled in the window.", "统计期内下单且未取消的件数。"),
        ),
        Figure(
            "gmv",
            Text("GMV", "成交额"),
            "money",
            123456789,
            Text("Units sold times the SKU's price, in yuan.", "销量乘以商品售价，单位元。"),
        ),
        Figure(
            "sell_through",
            Text("Sell-through", "售罄率"),
            "share",
            0.4567,
            Text("Units sold / (units sold + units left).", "销量 /（销量 + 剩余库存）。"),
        ),
        Figure(
            "peak_day",
            Text("Peak day", "销售峰值日"),
            "date",
            date(2026, 11, 11),
            Text("The day with the most units sold.", "销量最高的一天。"),
        ),
        Figure(
            "oversold",
            Text("Units oversold", "超卖件数"),
            "units",
            0,
            Text("Units sold above what was listed.", "超出上架库存的售出件数。"),
        ),
    ),
    tables=(
        Table(
            key="by_day",
            title=Text("Sales per day", "每日销量与成交额"),
            columns=(
                Column("day", Text("Day", "日期"), "date"),
                Column("units", Text("Units", "销量"), "units"),
                Column("gmv", Text("GMV", "成交额"), "money"),
            ),
            rows=((DAYS[0], 210, 2100001), (DAYS[1], 900, 9000099), (DAYS[2], 124, -5)),
            note=Text(
                "A refund larger than the day's sales shows as negative GMV.",
                "退款大于当日销售额时成交额为负。",
            ),
        ),
        Table(
            key="by_shop",
            title=Text("Sales per shop", "各店铺销售"),
            columns=(
                Column("shop", Text("Shop", "店铺"), "text"),
                Column("units", Text("Units", "销量"), "units"),
                Column("share", Text("Share of units", "销量占比"), "share"),
            ),
            rows=(
                ("tmall-flagship", 800, 0.6483),
                (HOSTILE_SHOP, 434, 0.3517),
                ("天猫超市", 0, None),
            ),
        ),
    ),
    charts=(
        Chart(
            "units_per_day",
            Text("Units and GMV per day", "每日销量与成交额"),
            "line",
            "by_day",
            "day",
            ("units", "gmv"),
        ),
        Chart(
            "units_per_shop",
            Text("Units per shop", "各店铺销量"),
            "column",
            "by_shop",
            "shop",
            ("units",),
        ),
    ),
)

PRODUCTS = Section(
    key="products",
    title=Text("Top products", "畅销商品"),
    tables=(
        Table(
            key="top",
            title=Text("Top products by units", "按销量排名"),
            columns=(
                Column("sku", Text("SKU", "商品编码"), "text"),
                Column("name", Text("Product", "商品名称"), "text"),
                Column("units", Text("Units", "销量"), "units"),
                Column("gmv", Text("GMV", "成交额"), "money"),
                Column("first_sale", Text("First sale", "首单日期"), "date"),
            ),
            rows=(
                ("SKU-1", "保温杯 500ml", 700, 6999300, DAYS[0]),
                (HOSTILE_SKU, '=HYPERLINK("http://x")', 300, 1, DAYS[1]),
                ("SKU-3", "Long product name that goes on and on and on", 234, 99, None),
            ),
            note=Text("Ranked by units sold in the window.", "按统计期内销量排序。"),
        ),
    ),
    charts=(Chart("top_units", Text("Top products", "畅销商品"), "bar", "top", "sku", ("units",)),),
)

SETTLEMENT = Section(
    key="settlement",
    title=Text("Settlement", "结算"),
    empty=Text("No settlement was run for 2026-11.", "2026-11 结算期尚未对账。"),
)

REPORT = Report(
    tenant="acme",
    brand="b1",
    kind="campaign",
    start=DAYS[0],
    end=DAYS[-1],
    as_of=datetime(2026, 11, 13, 0, 0, tzinfo=UTC),
    sections=(SALES, PRODUCTS, SETTLEMENT),
    sources={"snapshot": "sha256:abc", "settlement_run": "none"},
    title=Text("Double-11 campaign report", "双十一活动报告"),
)

CHART_COUNT = sum(len(s.charts) for s in REPORT.sections)
