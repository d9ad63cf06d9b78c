"""Every figure of the report on small inputs made by hand, against answers worked out
by hand (in the comments), not by the code under test."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pytest

from engine.reports.figures import build_report
from engine.reports.inputs import (
    CompletenessInput,
    PlanInput,
    PriceCheckInput,
    ReportInputs,
    SettlementInput,
    completeness_by_platform,
)
from engine.reports.model import Report

DAYS = (date(2026, 11, 10), date(2026, 11, 11), date(2026, 11, 12))
S, X = False, True  # on sale / listed at 0


def arr(values: Any) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def hand_inputs(**changes: Any) -> ReportInputs:
    """Two SKUs (A at 10.00, B at 2.50), two shops (s1 first), three days.

    units  A: s1 2 0 4 | s2 1 3 0     B: s1 0 3 0 | s2 5 0 1
    out    A: s1 - X - | s2 - - X     B: s1 X - X | s2 - - -
    A left 3 at the end, B left 2; A sold 3 3 4 a day, B 5 3 1, so the stock at the
    end of each day is A 10 7 3, B 6 3 2."""
    fields: dict[str, Any] = {
        "tenant": "t1",
        "brand": "b1",
        "brand_name": "Brand One",
        "kind": "campaign",
        "start": DAYS[0],
        "end": DAYS[-1],
        "as_of": datetime(2026, 11, 12, 16, tzinfo=UTC),
        "skus": ("A", "B"),
        "categories": ("shoes", "socks"),
        "price_fen": arr([1000, 250]),
        "shops": ("s1", "s2"),
        "units": arr([[[2, 0, 4], [1, 3, 0]], [[0, 3, 0], [5, 0, 1]]]),
        # Known listings: A on s1 (4 listed on the day it sold 4), B on s2 (4 listed on
        # the day it sold 5: one oversold); -1 where the feed does not say.
        "listed": arr([[[5, 0, 4], [-1, -1, 0]], [[0, 9, 0], [4, 10, 1]]]),
        "out_of_stock": np.array([[[S, X, S], [S, S, X]], [[X, S, X], [S, S, S]]]),
        "covered": np.ones((2, 2, 3), dtype=bool),
        "stock_end": arr([[10, 7, 3], [6, 3, 2]]),
        "listed_end": arr([[0, 0], [1, 8]]),
        "plans": (PlanInput("p1", arr([[5, 5], [0, 8]])),),
        "settlements": (
            SettlementInput(
                "run-1",
                "2026-11",
                {
                    "gmv": "1000.50",
                    "fee": "50.03",
                    "held": 2,
                    "held_amount": "30.01",
                    "lines": [
                        {"shop": "旗舰店", "gmv": "600.50", "refunds": "10.00", "settled":
                         "590.50", "orders": 3, "fee": "29.53", "held": 2, "held_amount": "30.01"},
                        {"shop": "专营店", "gmv": "400.00", "refunds": "0.00", "settled":
                         "400.00", "orders": 1, "fee": "20.50", "held": 0, "held_amount": "0.00"},
                    ],
                },
                {"matched": 4, "amount_short": 1, "missing_payment": 1, "not_for_orders": 3},
            ),
        ),
        "prices": PriceCheckInput(
            "7",
            "2026-11-11T00:00:00+08:00",
            (
                {"sku": "A", "shop": "s1", "brand": "b1", "base": "10.00", "lowest": "6.50",
                 "floor": "7.00", "status": "breach"},
                {"sku": "B", "shop": "s2", "brand": "b1", "base": "2.50", "lowest": "1.99",
                 "floor": "2.00", "status": "may_breach"},
            ),
        ),
        "sources": {"snapshot_as_of": "2026-11-13T00:00:00+08:00"},
    }  # fmt: skip
    fields.update(changes)
    return ReportInputs(**fields)


@pytest.fixture(scope="module")
def report() -> Report:
    return build_report(hand_inputs())


def figures(report: Report, section: str) -> dict[str, object]:
    return {f.key: f.value for f in report.section(section).figures}


def test_sales_by_day_and_shop(report: Report) -> None:
    sales = report.section("sales")
    # A 10 units x 1000 fen + B 9 x 250 fen
    assert figures(report, "sales") == {"units": 19, "gmv": 12_250, "selling_shops": 2}
    assert sales.table("by_day").rows == (
        (DAYS[0], 8, 4_250),  # A 3 x 1000 + B 5 x 250
        (DAYS[1], 6, 3_750),  # A 3 + B 3
        (DAYS[2], 5, 4_250),  # A 4 + B 1
    )
    assert sales.table("by_shop").rows == (
        ("s1", 9, 6_750, 9 / 19),  # A 6, B 3
        ("s2", 10, 5_500, 10 / 19),  # A 4, B 6
    )
    assert sales.table("by_shop_day").rows == ((DAYS[0], 2, 6), (DAYS[1], 3, 3), (DAYS[2], 4, 1))


def test_stock_figures(report: Report) -> None:
    # Stockouts: A s1 day 2 (A sold 3 on s2), A s2 day 3 (4 on s1), B s1 days 1 and 3
    # (5 and 1 on s2); never B s2. The brand sold 8, 6 and 5 units a day. Lost demand,
    # a cell's sales on sale x the brand's that day / the brand's on those days:
    # A s1 day 2: 6 x 6 / (8 + 5) = 2.77 -> 3; A s2 day 3: 4 x 5 / (8 + 6) = 1.43 -> 1;
    # B s1 day 1: 3 x 8 / 6 = 4, day 3: 3 x 5 / 6 = 2.5 -> 3 (half up).
    # Avoidable: A s1 day 2 min(3, 7) = 3, A s2 day 3 min(1, 3) = 1, B s1 day 1
    # min(4, 6) = 4, day 3 min(3, 2) = 2: 10.
    # Stranded: A 3 left, none listed; B 2 left, 9 listed: 3. Oversold: B s2 day 1.
    assert figures(report, "stock") == {
        "sell_through": 19 / 24,
        "units_left": 5,
        "stockout_days": 4,
        "avoidable_lost_sales": 10,
        "stranded_units_end": 3,
        "units_oversold": 1,
    }
    stock = report.section("stock")
    assert stock.table("by_shop").rows == (("s1", 3, 10, 9), ("s2", 1, 1, 1))
    assert stock.table("by_day").rows == ((DAYS[0], 1, 4), (DAYS[1], 1, 3), (DAYS[2], 2, 3))
    assert stock.table("by_category").rows == (("shoes", 10, 3, 10 / 13), ("socks", 9, 2, 9 / 11))


def test_a_cell_never_on_sale_loses_nothing_it_can_be_said_to_lose() -> None:
    out = np.ones((2, 2, 3), dtype=bool)
    out[:, 1] = False  # s1 out every day, s2 on sale
    section = build_report(hand_inputs(out_of_stock=out)).section("stock")
    assert section.table("by_shop").rows[0][2:] == (0, 0)  # s1: no lost demand estimate


def test_top_and_bottom_products(report: Report) -> None:
    products = report.section("products")
    assert products.table("top_units").rows == (
        ("A", "shoes", 10, 10_000),
        ("B", "socks", 9, 2_250),
    )
    assert [r[0] for r in products.table("top_gmv").rows] == ["A", "B"]
    assert [r[0] for r in products.table("bottom_units").rows] == ["B", "A"]
    assert [r[0] for r in products.table("bottom_gmv").rows] == ["B", "A"]


def test_bottom_products_are_those_on_offer_and_top_those_sold() -> None:
    units = np.zeros((2, 2, 3), dtype=np.int64)
    units[0, 0, 0] = 1  # A sold one; B nothing, and none of it is left
    products = build_report(
        hand_inputs(units=units, stock_end=arr([[0, 0, 0], [0, 0, 0]]))
    ).section("products")
    for key in ("top_units", "top_gmv", "bottom_units", "bottom_gmv"):
        assert products.table(key).rows == (("A", "shoes", 1, 1_000),), key


def test_plan_against_sales(report: Report) -> None:
    # s1: the plan lists A 5 (B 0), A sold 6 there; s2: A 5 + B 8, sold A 4 + B 6.
    assert report.section("plan").table("by_shop").rows == (
        ("p1", "s1", 5, 6, 6 / 5),
        ("p1", "s2", 13, 10, 10 / 13),
    )


def test_listing_accuracy(report: Report) -> None:
    # (A,s1) 5 planned, none listed; (A,s2) 5, none; (B,s1) 0 planned, 1 listed;
    # (B,s2) 8 and 8: one of four as planned.
    listing = report.section("listing")
    assert figures(report, "listing") == {"accuracy": 0.25, "cells": 4}
    assert listing.table("by_shop").rows == (
        ("s1", 2, 0, 0.0, 1, 0, 1),
        ("s2", 2, 1, 0.5, 0, 0, 1),
    )


def test_listing_completeness_with_or_without_a_plan() -> None:
    checks = [("tmall", True, 1.0), ("jd", False, 0.5), ("tmall", False, 0.75), ("jd", False, 0.0)]
    rows = completeness_by_platform(checks)
    assert rows == (CompletenessInput("jd", 2, 0, 0.25), CompletenessInput("tmall", 2, 1, 0.875))
    listing = build_report(hand_inputs(plans=(), completeness=rows)).section("listing")
    assert listing.empty is None
    assert [f.key for f in listing.figures] == ["ready"]
    assert listing.figure("ready").value == 1 / 4
    assert listing.table("completeness").rows == (
        ("jd", 2, 0, 0.0, 0.25),
        ("tmall", 2, 1, 0.5, 0.875),
    )
    both = build_report(hand_inputs(completeness=rows)).section("listing")
    assert [t.key for t in both.tables] == ["by_shop", "completeness"]
    assert [c.table for c in both.charts] == ["by_shop", "completeness"]


def test_price_breaches(report: Report) -> None:
    assert figures(report, "prices") == {"breaches": 1, "may_breach": 1}
    assert report.section("prices").table("breaches").rows == (
        ("A", "s1", 1000, 650, 700, "breach"),
        ("B", "s2", 250, 199, 200, "may_breach"),
    )


def test_settlement_from_the_bill(report: Report) -> None:
    section = report.section("settlement")
    assert figures(report, "settlement") == {
        "gmv": 100_050,
        "fee": 5_003,
        "held": 2,
        "held_amount": 3_001,
    }
    assert section.table("lines").rows == (
        ("2026-11", "旗舰店", 60_050, 1_000, 59_050, 3, 2_953, 2, 3_001),
        ("2026-11", "专营店", 40_000, 0, 40_000, 1, 2_050, 0, 0),
    )
    # Matched and not-for-orders records are no exception held out of the bill.
    assert section.table("held_outcomes").rows == (
        ("2026-11", "amount_short", 1),
        ("2026-11", "missing_payment", 1),
    )


def test_sections_without_data_say_so() -> None:
    quiet = hand_inputs(
        units=np.zeros((2, 2, 3), dtype=np.int64), plans=(), settlements=(), prices=None
    )
    report = build_report(quiet)
    empty = {s.key: s.empty.en for s in report.sections if s.empty is not None}
    assert set(empty) == {"sales", "products", "plan", "listing", "prices", "settlement"}
    assert empty["sales"] == "Brand b1 sold nothing in the window 2026-11-10 to 2026-11-12."
    assert "No settlement run of brand b1" in empty["settlement"]
    assert all(s.empty.zh for s in report.sections if s.empty is not None)
    # The stock section still shows the stock left and its sell-through of 0.
    assert figures(report, "stock")["sell_through"] == 0.0
    assert figures(report, "stock")["units_left"] == 5


def test_no_feed_for_the_window_is_said_too() -> None:
    report = build_report(hand_inputs(covered=np.zeros((2, 2, 3), dtype=bool)))
    empty = report.section("sales").empty
    assert empty is not None and "no history" in empty.en
    assert report.section("stock").empty is not None


def test_every_figure_has_a_definition_in_both_languages(report: Report) -> None:
    for section in report.sections:
        assert section.title.en and section.title.zh
        for figure in section.figures:
            assert figure.definition.en and figure.definition.zh, figure.key
    assert report.title is not None and "Brand One" in report.title.zh
    assert report.sources == {"snapshot_as_of": "2026-11-13T00:00:00+08:00"}
