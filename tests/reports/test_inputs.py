"""A report's inputs: read from a snapshot made by hand (the window's days of each
history row, listing state, stock at each day's end), gathered from a tenant's store
(the plans published in the window, by the audit log) and its settlement database (a
real run of the demo month, whose bill the report repeats to the fen), and bad windows
or brands refused naming the field."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.core.errors import InputError
from engine.core.io import parse_snapshot
from engine.db import migrate
from engine.db.connect import connect
from engine.reports.errors import MAX_WINDOW_DAYS, check_window
from engine.reports.figures import build_report
from engine.reports.inputs import gather, inputs_of
from engine.services import settlements as service
from engine.settlement.runstore import RunStatus, SettlementStore
from engine.store.memory import MemoryStore
from rules.catalog import Ruleset
from tests.settlement.months import demo_month

TODAY = date(2026, 12, 3)
START, END = date(2026, 11, 10), date(2026, 11, 11)

SNAPSHOT: dict[str, Any] = {
    "tenant": "acme",
    "as_of": "2026-11-13T00:00:00+08:00",
    "brands": [{"id": "b1", "name": "Brand One"}, {"id": "b2", "name": "Brand Two"}],
    "warehouses": [{"id": "wh", "kind": "sellable"}, {"id": "bad", "kind": "defect"}],
    "shops": [
        {"id": "jd", "brand": "b1", "platform": "jd", "priority": 2},
        {"id": "tm", "brand": "b1", "platform": "tmall", "priority": 1},
        {"id": "other", "brand": "b2", "platform": "tmall", "priority": 1},
    ],
    "skus": [
        {"id": "A", "brand": "b1", "category": "shoes", "price": "10.00"},
        {"id": "B", "brand": "b1", "category": "socks", "price": "2.50"},
        {"id": "C", "brand": "b2", "price": "99.00"},
    ],
    "stock": [
        {"sku": "A", "warehouse": "wh", "on_hand": 10},
        {"sku": "B", "warehouse": "bad", "on_hand": 4},  # a defect warehouse: none sells
        {"sku": "C", "warehouse": "wh", "on_hand": 50},
    ],
    "listed": [
        {"sku": "A", "shop": "tm", "quantity": 4},
        {"sku": "C", "shop": "other", "quantity": 9},
    ],
    "history": [
        # 11-08 .. 11-12: 11-10 sold 3 of 3 listed, 11-11 listed 0, 11-12 is after the window
        {"sku": "A", "shop": "tm", "start": "2026-11-08", "units": [1, 2, 3, 0, 5],
         "listed": [9, 9, 3, 0, 9]},
        {"sku": "A", "shop": "jd", "start": "2026-11-10", "units": [2, 0],
         "out_of_stock": [False, True]},
        {"sku": "B", "shop": "tm", "start": "2026-11-11", "units": [1, 1]},
        {"sku": "C", "shop": "other", "start": "2026-11-10", "units": [7, 7, 7]},
    ],
}  # fmt: skip


def test_the_window_is_read_from_each_history_row() -> None:
    inputs = inputs_of(parse_snapshot(SNAPSHOT), Ruleset(), "b1", START, END, today=TODAY)
    assert (inputs.skus, inputs.shops) == (("A", "B"), ("tm", "jd"))  # shops by priority
    assert inputs.brand_name == "Brand One" and inputs.categories == ("shoes", "socks")
    assert inputs.price_fen.tolist() == [1000, 250]
    assert inputs.units.tolist() == [[[3, 0], [2, 0]], [[0, 1], [0, 0]]]
    assert inputs.listed.tolist() == [[[3, 0], [-1, -1]], [[-1, -1], [-1, -1]]]
    assert inputs.out_of_stock.tolist() == [
        [[False, True], [False, True]],
        [[False, False], [False, False]],
    ]
    assert inputs.covered.tolist() == [
        [[True, True], [True, True]],
        [[False, True], [False, False]],
    ]
    # A: 10 now, 5 sold on 11-12, nothing on 11-11; B: none that sells now, 1 sold on
    # each of 11-11 and 11-12.
    assert inputs.stock_end.tolist() == [[15, 15], [2, 1]]
    assert inputs.listed_end.tolist() == [[4, 0], [0, 0]]
    assert inputs.as_of.isoformat() == "2026-11-12T00:00:00+08:00"
    assert inputs.sources["snapshot_as_of"] == "2026-11-13T00:00:00+08:00"


@pytest.mark.parametrize(
    ("start", "end", "field", "words"),
    [
        (date(2026, 11, 12), date(2026, 11, 11), "from", "is after the window's end"),
        (date(2026, 12, 4), date(2026, 12, 5), "from", "is after today 2026-12-03"),
        (date(2025, 11, 1), date(2026, 11, 2), "to", "367 days from 2025-11-01"),
    ],
)
def test_a_bad_window_is_refused_naming_its_field(
    start: date, end: date, field: str, words: str
) -> None:
    with pytest.raises(InputError) as err:
        inputs_of(parse_snapshot(SNAPSHOT), Ruleset(), "b1", start, end, today=TODAY)
    assert [i.path for i in err.value.issues] == [field]
    assert words in str(err.value)


def test_a_window_not_over_when_the_snapshot_was_taken_is_as_of_the_snapshot() -> None:
    inputs = inputs_of(parse_snapshot(SNAPSHOT), Ruleset(), "b1", START, TODAY, today=TODAY)
    assert inputs.as_of.isoformat() == "2026-11-13T00:00:00+08:00"
    assert inputs.units.shape == (2, 2, 24)
    assert not inputs.covered[:, :, 3:].any()  # 11-13 on: the history stops at as_of
    # A: 10 now + 5 sold on 11-12 (day 2 of the window); nothing sold after 11-12.
    assert inputs.stock_end[0].tolist() == [15, 15] + [10] * 22


def test_a_window_of_a_year_and_a_day_and_of_one_day_are_fine() -> None:
    check_window(date(2025, 11, 2), date(2026, 11, 2), TODAY)
    assert (date(2026, 11, 2) - date(2025, 11, 2)).days + 1 == MAX_WINDOW_DAYS
    check_window(TODAY, TODAY, TODAY)


def test_an_unknown_brand_is_refused_naming_it() -> None:
    with pytest.raises(InputError) as err:
        inputs_of(parse_snapshot(SNAPSHOT), Ruleset(), "b7", START, END, today=TODAY)
    assert [(i.path, i.message) for i in err.value.issues] == [
        ("brand", "unknown brand 'b7' (known: b1, b2)")
    ]


def _publish(at: str, plan_id: str, status: int = 200) -> dict[str, Any]:
    return {
        "at": at,
        "method": "POST",
        "route": "/v1/plans/{plan_id}/publish",
        "target": {"plan_id": plan_id},
        "status": status,
    }


@pytest.fixture
def runs(tmp_path: Path) -> Iterator[SettlementStore]:
    url = f"sqlite:///{tmp_path / 'omnistock.db'}"
    migrate.upgrade(url)
    store = SettlementStore(connect(url))
    uploads = [service.Upload(role, name, data) for role, name, data in demo_month()]
    made = service.create_run(store, "acme", "2026-11", uploads, "key-1")
    assert service.execute(store, "acme", made.run.id).status is RunStatus.DONE
    try:
        yield store
    finally:
        store.dispose()


def test_gathered_from_the_store_and_the_settlement_database(runs: SettlementStore) -> None:
    store = MemoryStore("acme")
    store.put_snapshot(SNAPSHOT)
    allocations = [
        {"shop": "tm", "sku": "A", "quantity": 5, "shared": 2},
        {"shop": "jd", "sku": "A", "quantity": 1, "shared": 2},
        {"shop": "other", "sku": "C", "quantity": 9},
    ]
    for plan_id in ("p0", "p1", "p2", "p3"):
        store.put_plan(plan_id, {"plan_id": plan_id, "allocations": allocations})
    for entry in (
        _publish("2026-11-09T23:59:59+08:00", "p0"),  # before the window
        _publish("2026-11-10T02:00:00+00:00", "p1"),  # 10:00 China time, in it
        _publish("2026-11-10T12:00:00+08:00", "p2", status=409),  # refused
        _publish("2026-11-12T00:00:00+08:00", "p3"),  # the first instant after it
    ):
        store.append_audit(entry)
    inputs = gather(store, "b1", START, END, today=TODAY, settlement_runs=runs)
    (plan,) = inputs.plans
    assert plan.plan_id == "p1"
    assert plan.listed.tolist() == [[7, 3], [0, 0]]  # own units + the shared part
    assert inputs.sources["plans"] == "p1"
    assert inputs.sources["stock_version"] == "1" and inputs.sources["ruleset_version"] == "none"
    text = store.get_snapshot_text().text.encode()
    assert inputs.sources["snapshot_sha256"] == hashlib.sha256(text).hexdigest()

    (run,) = inputs.settlements
    assert inputs.sources["settlement_2026-11"] == run.run_id
    # The report's settlement figures are the settlement API's bill, to the fen.
    bill = service.bill(runs, "acme", run.run_id, "b1")
    section = build_report(inputs).section("settlement")
    fen = {key: round(float(bill[key]) * 100) for key in ("gmv", "fee", "held_amount")}
    assert {f.key: f.value for f in section.figures} == {**fen, "held": bill["held"]}
    lines = section.table("lines").rows
    assert [(r[1], r[2], r[6]) for r in lines] == [
        (line["shop"], round(float(line["gmv"]) * 100), round(float(line["fee"]) * 100))
        for line in bill["lines"]
    ]


def test_a_brand_without_sales_or_settlement_gets_a_report_that_says_so() -> None:
    store = MemoryStore("acme")
    quiet = {**SNAPSHOT, "history": [r for r in SNAPSHOT["history"] if r["sku"] == "C"]}
    store.put_snapshot(quiet)
    report = build_report(gather(store, "b1", START, END, today=TODAY))
    empty = {s.key for s in report.sections if s.empty is not None}
    assert empty == {"sales", "stock", "products", "plan", "listing", "prices", "settlement"}
    assert all(s.empty is not None and s.empty.zh for s in report.sections)


@st.composite
def sold_and_window(draw: st.DrawFn) -> tuple[dict[str, Any], date, date]:
    """A snapshot of one brand (two SKUs with stock, two shops) with history rows
    starting anywhere in the ten days before as_of, and a window in those days."""
    as_of = date(2026, 11, 13)
    rows = []
    for sku in ("A", "B"):
        for shop in ("tm", "jd"):
            if not draw(st.booleans()):
                continue
            back = draw(st.integers(1, 10))  # the row's first day, in days before as_of
            days = draw(st.integers(1, back))
            row: dict[str, Any] = {
                "sku": sku,
                "shop": shop,
                "start": (as_of - timedelta(days=back)).isoformat(),
                "units": draw(st.lists(st.integers(0, 9), min_size=days, max_size=days)),
            }
            if draw(st.booleans()):
                row["listed"] = draw(st.lists(st.integers(0, 9), min_size=days, max_size=days))
            rows.append(row)
    first = draw(st.integers(1, 10))
    start = as_of - timedelta(days=first)
    end = start + timedelta(days=draw(st.integers(0, first - 1)))
    skus = [s for s in SNAPSHOT["skus"] if s["brand"] == "b1"]
    stock = [{"sku": "A", "warehouse": "wh", "on_hand": draw(st.integers(0, 50))}]
    doc = {**SNAPSHOT, "skus": skus + [SNAPSHOT["skus"][2]], "stock": stock, "history": rows}
    return doc, start, end


@settings(max_examples=60, deadline=None)
@given(sold_and_window())
def test_each_day_of_the_window_is_its_rows_day_and_stock_adds_up(
    case: tuple[dict[str, Any], date, date],
) -> None:
    doc, start, end = case
    inputs = inputs_of(parse_snapshot(doc), Ruleset(), "b1", start, end, today=TODAY)
    skus, shops, days = list(inputs.skus), list(inputs.shops), list(inputs.days)
    later = [0, 0]
    for row in doc["history"]:
        s, p = skus.index(row["sku"]), shops.index(row["shop"])
        for k, units in enumerate(row["units"]):
            day = date.fromisoformat(row["start"]) + timedelta(days=k)
            if day > end:
                later[s] += units
            elif day >= start:
                d = days.index(day)
                assert inputs.covered[s, p, d] and inputs.units[s, p, d] == units
                listed = row["listed"][k] if "listed" in row else -1
                assert inputs.listed[s, p, d] == listed
                assert inputs.out_of_stock[s, p, d] == (listed == 0)
    assert (
        inputs.units[~inputs.covered].sum() == 0 and not inputs.out_of_stock[~inputs.covered].any()
    )
    # No arrivals: the stock at each day's end is the next day's end plus what sold on it.
    on_hand = [doc["stock"][0]["on_hand"], 0]  # B has no stock row
    sold = inputs.units.sum(axis=1)
    for s in range(2):
        assert inputs.stock_end[s, -1] == on_hand[s] + later[s]
        for d in range(len(days) - 1):
            assert inputs.stock_end[s, d] == inputs.stock_end[s, d + 1] + sold[s, d + 1]
