"""The demo's Double-11 report: built in-process from the demo data (no server), every
section filled, its figures agreeing with each other and with the settlement bill, the
same report on a rebuild."""

from __future__ import annotations

import json
from datetime import date

import pytest

from engine.demo import DOUBLE11_PEAK, build_demo
from engine.reports.demo import demo_inputs
from engine.reports.errors import UnknownBrand
from engine.reports.figures import build_report
from engine.reports.inputs import ReportInputs
from engine.reports.model import Report, Section, Table


def ints(table: Table, key: str) -> list[int]:
    """A column of whole numbers (units, fen)."""
    at = table.column(key)
    values = [row[at] for row in table.rows]
    assert all(isinstance(v, int) for v in values)
    return [int(v) for v in values if isinstance(v, int)]


def value(section: Section, key: str) -> int:
    found = section.figure(key).value
    assert isinstance(found, int)
    return found


START, END = date(2026, 11, 10), date(2026, 11, 12)
TODAY = date(2026, 12, 3)
SKUS = 300  # the demo's smallest catalog: the whole report in about a second


@pytest.fixture(scope="module")
def inputs() -> ReportInputs:
    return demo_inputs("b1", START, END, today=TODAY, skus=SKUS)


@pytest.fixture(scope="module")
def report(inputs: ReportInputs) -> Report:
    return build_report(inputs)


def test_every_section_of_the_demo_report_has_something_to_show(report: Report) -> None:
    keys = [s.key for s in report.sections]
    assert keys == ["sales", "stock", "products", "plan", "listing", "prices", "settlement"]
    for section in report.sections:
        assert section.empty is None, section.key
        assert section.tables, section.key
        for chart in section.charts:
            table = section.table(chart.table)
            assert all(table.column(c) >= 0 for c in (chart.category, *chart.series))
    assert report.brand == "b1" and (report.start, report.end) == (START, END)
    assert report.as_of.isoformat() == "2026-11-13T00:00:00+08:00"


def test_the_demo_listing_section_has_accuracy_and_completeness(report: Report) -> None:
    listing = report.section("listing")
    assert [t.key for t in listing.tables] == ["by_shop", "completeness"]
    platforms = [row[0] for row in listing.table("completeness").rows]
    assert platforms == ["douyin", "jd", "pdd", "tmall"]  # b1's four shops' platforms
    ready = listing.figure("ready").value
    assert isinstance(ready, float) and 0.5 < ready < 1.0  # the demo's gaps: a few percent


def test_the_demo_sales_peak_on_double_11(report: Report) -> None:
    by_day = report.section("sales").table("by_day")
    units = dict(zip([row[0] for row in by_day.rows], ints(by_day, "units"), strict=True))
    assert set(units) == set(DOUBLE11_PEAK)
    assert units[date(2026, 11, 11)] > 2 * max(units[date(2026, 11, 10)], units[date(2026, 11, 12)])


def test_the_sales_totals_agree_by_shop_and_by_day(report: Report) -> None:
    sales = report.section("sales")
    units, gmv = value(sales, "units"), value(sales, "gmv")
    assert sum(ints(sales.table("by_day"), "units")) == units
    assert sum(ints(sales.table("by_shop"), "units")) == units
    assert sum(ints(sales.table("by_day"), "gmv")) == gmv
    by_shop_day = sales.table("by_shop_day")
    assert sum(sum(ints(by_shop_day, c.key)) for c in by_shop_day.columns[1:]) == units


def test_the_demo_sales_are_the_demo_history_of_the_window(report: Report) -> None:
    snapshot, _ = build_demo(skus=SKUS, history_days=28, after_campaign=True)
    skus = [s for s in snapshot["skus"] if s["brand"] == "b1"]
    price = {s["id"]: round(float(s["price"]) * 100) for s in skus}
    first = date.fromisoformat(snapshot["history"][0]["start"])
    days = [(day - first).days for day in (START, date(2026, 11, 11), END)]
    rows = [r for r in snapshot["history"] if r["sku"] in price]
    units = sum(r["units"][d] for r in rows for d in days)
    gmv = sum(r["units"][d] * price[r["sku"]] for r in rows for d in days)
    sales = report.section("sales")
    assert (sales.figure("units").value, sales.figure("gmv").value) == (units, gmv)


def test_the_settlement_section_is_the_settled_bill(report: Report, inputs: ReportInputs) -> None:
    (run,) = inputs.settlements
    section = report.section("settlement")
    assert run.period == "2026-11"
    assert section.figure("gmv").value == round(float(run.bill["gmv"]) * 100)
    assert section.figure("fee").value == round(float(run.bill["fee"]) * 100)
    assert section.figure("held").value == run.bill["held"] > 0
    assert sum(ints(section.table("lines"), "gmv")) == value(section, "gmv")


def test_the_report_names_its_sources_and_round_trips(report: Report) -> None:
    assert report.sources["snapshot_as_of"] == "2026-11-13T00:00:00+08:00"
    assert report.sources["plans"].startswith("plan-")
    assert report.sources["settlement_2026-11"] == "demo-b1-2026-11"
    assert Report.from_json(json.loads(json.dumps(report.to_json()))) == report


def test_a_rebuild_gives_the_same_report(report: Report) -> None:
    again = build_report(demo_inputs("b1", START, END, today=TODAY, skus=SKUS))
    assert again.to_json() == report.to_json()


def test_the_demo_month_of_november_as_of_the_snapshot() -> None:
    month = build_report(
        demo_inputs(
            "b2", date(2026, 11, 1), date(2026, 11, 30), today=TODAY, kind="monthly", skus=SKUS
        )
    )
    assert month.kind == "monthly" and month.title is not None
    assert month.title.en.startswith("Monthly report: Lumina Botanics")
    # The demo's sales stop at its snapshot (2026-11-13): so do the month's figures.
    assert month.as_of.isoformat() == "2026-11-13T00:00:00+08:00"
    by_day = month.section("sales").table("by_day")
    sold = dict(zip([r[0] for r in by_day.rows], ints(by_day, "units"), strict=True))
    assert len(sold) == 30 and sold[date(2026, 11, 12)] > 0 and sold[date(2026, 11, 13)] == 0
    assert month.section("settlement").empty is None


def test_an_unknown_demo_brand_is_named() -> None:
    with pytest.raises(UnknownBrand) as err:
        demo_inputs("b9", START, END, today=TODAY, skus=SKUS)
    assert [i.path for i in err.value.issues] == ["brand"]
    assert "b9" in str(err.value) and "b1, b2, b3" in str(err.value)
