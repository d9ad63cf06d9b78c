"""The contract, the initial bill and the files a settlement run writes."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from engine.core.errors import InputError
from engine.settlement.bill import TOP_UP, ShopFigures, allocate, initial_bill
from engine.settlement.contract import Contract, load_contract, parse_contract
from engine.settlement.output import Control, write_settlement
from engine.settlement.records import Outcome


def contract(method: dict[str, Any], **extra: Any) -> Contract:
    return parse_contract({"brand": "b1", "currency": "CNY", "method": method, **extra})


# A: 100,000.00 sold, 2,000.00 refunded -> 98,000.00 settled; B: 50,000.00 -> 50,000.00.
# The brand settled 148,000.00.
SHOPS = [
    ShopFigures("tm-b1", gmv_fen=10_000_000, refunds_fen=200_000, orders=120),
    ShopFigures("jd-b1", gmv_fen=5_000_000, refunds_fen=0, orders=7, held_count=2, held_fen=39_900),
]


def fees(bill: Any) -> dict[str, int]:
    return {line.shop or line.kind: line.fee_fen for line in bill.lines}


def test_percent_of_settled_gmv() -> None:
    bill = initial_bill(contract({"kind": "percent", "rate": "0.05"}), "2026-11", SHOPS)
    assert bill.settled_fen == 14_800_000
    # 148,000.00 x 5 % = 7,400.00; tm 98,000.00 x 5 % = 4,900.00; jd 50,000.00 x 5 % = 2,500.00
    assert bill.fee_fen == 740_000
    assert fees(bill) == {"jd-b1": 250_000, "tm-b1": 490_000}
    assert [line.shop for line in bill.lines] == ["jd-b1", "tm-b1"]  # by shop id
    assert bill.held_count == 2 and bill.held_fen == 39_900


def test_returns_not_deducted_when_the_contract_says_so() -> None:
    terms = contract({"kind": "percent", "rate": "0.05"}, deductions={"returns": False})
    bill = initial_bill(terms, "2026-11", SHOPS)
    # 150,000.00 x 5 % = 7,500.00
    assert bill.settled_fen == 15_000_000 and bill.fee_fen == 750_000


def test_fixed_plus_percent_shared_pro_rata_with_the_remainder_on_the_largest() -> None:
    terms = contract({"kind": "fixed_plus_percent", "fixed": "5000.00", "rate": "0.03"})
    bill = initial_bill(terms, "2026-11", SHOPS)
    # 5,000.00 + 148,000.00 x 3 % = 9,440.00 = 944,000 fen
    # tm: 944,000 x 98/148 = 625,081.08 -> 625,081; jd: 944,000 x 50/148 = 318,918.92 -> 318,918
    # the cut-off fen (944,000 - 943,999 = 1) goes to tm, the larger shop
    assert bill.fee_fen == 944_000
    assert fees(bill) == {"jd-b1": 318_918, "tm-b1": 625_082}


TIERS = [{"upto": "1000000.00", "rate": "0.06"}, {"upto": None, "rate": "0.04"}]


@pytest.mark.parametrize(
    ("mode", "settled_fen", "fee_fen"),
    [
        # at the edge (upto is inclusive) both modes charge 6 %: 1,000,000.00 x 6 % = 60,000.00
        ("whole", 100_000_000, 6_000_000),
        ("marginal", 100_000_000, 6_000_000),
        # one fen above: whole drops all of it to 4 %: 1,000,000.01 x 4 % = 40,000.0004 -> 40,000.00
        ("whole", 100_000_001, 4_000_000),
        # marginal: 60,000.00 + 0.01 x 4 % = 60,000.0004 -> 60,000.00
        ("marginal", 100_000_001, 6_000_000),
        # 1,500,000.00: whole 4 % of all = 60,000.00;
        # marginal 60,000.00 + 500,000.00 x 4 % = 80,000.00
        ("whole", 150_000_000, 6_000_000),
        ("marginal", 150_000_000, 8_000_000),
        # below the first edge the modes agree: 500,000.00 x 6 % = 30,000.00
        ("whole", 50_000_000, 3_000_000),
        ("marginal", 50_000_000, 3_000_000),
    ],
)
def test_tiers_on_the_brand_total(mode: str, settled_fen: int, fee_fen: int) -> None:
    terms = contract({"kind": "tiered", "mode": mode, "bands": TIERS})
    # Two shops: the tier is the brand's, not each shop's (either alone is below the edge).
    half = settled_fen // 2
    shops = [ShopFigures("a", half, 0, 1), ShopFigures("b", settled_fen - half, 0, 1)]
    bill = initial_bill(terms, "2026-11", shops)
    assert bill.fee_fen == fee_fen
    assert sum(line.fee_fen for line in bill.lines) == fee_fen


def test_three_marginal_bands() -> None:
    bands = [
        {"upto": "100.00", "rate": "0.1"},
        {"upto": "300.00", "rate": "0.05"},
        {"upto": None, "rate": "0.01"},
    ]
    terms = contract({"kind": "tiered", "mode": "marginal", "bands": bands})
    bill = initial_bill(terms, "2026-11", [ShopFigures("a", 50_000, 0, 1)])
    # 500.00: 100.00 x 10 % + 200.00 x 5 % + 200.00 x 1 % = 10.00 + 10.00 + 2.00 = 22.00
    assert bill.fee_fen == 2_200


def test_per_order_fee_follows_each_shops_orders() -> None:
    bill = initial_bill(contract({"kind": "per_order", "fee": "1.50"}), "2026-11", SHOPS)
    # tm 120 x 1.50 = 180.00; jd 7 x 1.50 = 10.50; 190.50 in all
    assert fees(bill) == {"jd-b1": 1_050, "tm-b1": 18_000}
    assert bill.fee_fen == 19_050


def test_minimum_fee_tops_up_the_total() -> None:
    terms = contract({"kind": "percent", "rate": "0.05"}, minimum_fee="3000.00")
    shops = [ShopFigures("a", 1_500_000, 0, 10), ShopFigures("b", 500_000, 0, 3)]
    bill = initial_bill(terms, "2026-11", shops)
    # 20,000.00 x 5 % = 1,000.00 < 3,000.00: a top-up line of 2,000.00
    assert bill.fee_before_minimum_fen == 100_000
    assert bill.top_up_fen == 200_000 and bill.fee_fen == 300_000
    assert bill.lines[-1].kind == TOP_UP and bill.lines[-1].fee_fen == 200_000
    assert sum(line.fee_fen for line in bill.lines) == bill.fee_fen
    # above the minimum there is no top-up line
    richer = [ShopFigures("a", 10_000_000, 0, 10)]
    assert [line.kind for line in initial_bill(terms, "2026-11", richer).lines] == ["shop"]


def test_half_up_rounding_and_no_credit_for_net_refunds() -> None:
    half = contract({"kind": "percent", "rate": "0.5"})
    # 1 fen x 50 % = 0.5 fen -> 1 (half up; banker's rounding would give 0); 3 x 50 % = 1.5 -> 2
    assert initial_bill(half, "2026-11", [ShopFigures("a", 1, 0, 1)]).fee_fen == 1
    assert initial_bill(half, "2026-11", [ShopFigures("a", 3, 0, 1)]).fee_fen == 2
    # more refunded than sold: settled is negative, and the fee is 0, not a credit
    bill = initial_bill(half, "2026-11", [ShopFigures("a", 100, 500, 1)])
    assert bill.settled_fen == -400 and bill.fee_fen == 0


def test_bad_bill_input_is_named() -> None:
    terms = contract({"kind": "percent", "rate": "0.05"})
    with pytest.raises(InputError) as caught:
        initial_bill(terms, "2026-13", [ShopFigures("a", -1, 0, 0), ShopFigures("a", 0, 0, 0)])
    paths = {issue.path for issue in caught.value.issues}
    assert paths == {"period", "lines[a].gmv_fen", "lines[a]"}
    with pytest.raises(InputError, match="at least one shop"):
        initial_bill(terms, "2026-11", [])


@settings(max_examples=300, deadline=None)
@given(
    total=st.integers(0, 10**12),
    weights=st.lists(st.integers(-(10**9), 10**12), min_size=1, max_size=12),
)
def test_allocation_sums_exactly_and_stays_near_pro_rata(total: int, weights: list[int]) -> None:
    shares = allocate(total, weights)
    assert sum(shares) == total
    assert all(share >= 0 for share in shares)
    positive = [max(w, 0) for w in weights]
    whole = sum(positive) or len(weights)
    positive = positive if sum(positive) else [1] * len(weights)
    for share, weight in zip(shares, positive, strict=True):
        # within one fen per shop of the exact share (the remainder lands on one shop)
        assert abs(share * whole - total * weight) <= len(weights) * whole


@settings(max_examples=100, deadline=None)
@given(
    figures=st.lists(
        st.tuples(st.integers(0, 10**10), st.integers(0, 10**9), st.integers(0, 10**5)),
        min_size=1,
        max_size=8,
    ),
    kind=st.sampled_from(["percent", "fixed", "whole", "marginal", "per_order"]),
)
def test_bill_lines_always_sum_to_the_total(figures: list[tuple[int, int, int]], kind: str) -> None:
    methods: dict[str, dict[str, Any]] = {
        "percent": {"kind": "percent", "rate": "0.033333"},
        "fixed": {"kind": "fixed_plus_percent", "fixed": "999.99", "rate": "0.017"},
        "whole": {"kind": "tiered", "mode": "whole", "bands": TIERS},
        "marginal": {"kind": "tiered", "mode": "marginal", "bands": TIERS},
        "per_order": {"kind": "per_order", "fee": "0.37"},
    }
    terms = contract(methods[kind], minimum_fee="100.00")
    shops = [ShopFigures(f"s{i}", g, r, o) for i, (g, r, o) in enumerate(figures)]
    bill = initial_bill(terms, "2026-11", shops)
    assert sum(line.fee_fen for line in bill.lines) == bill.fee_fen >= 10_000
    assert all(line.fee_fen >= 0 for line in bill.lines)


def test_contract_errors_are_all_named_by_path() -> None:
    with pytest.raises(InputError) as caught:
        parse_contract(
            {
                "brand": "b1",
                "method": {"kind": "percent", "rate": "1.5"},
                "minimum_fee": 3000.5,  # a float: refused
                "tolerances": {"pending_days": -1},
                "colour": "red",
            },
            source="b1.yaml",
        )
    paths = {issue.path for issue in caught.value.issues}
    assert paths == {"method.rate", "minimum_fee", "tolerances.pending_days", "colour"}
    assert caught.value.source == "b1.yaml"

    bands = [
        {"upto": "500.00", "rate": "0.06"},
        {"upto": "400.00", "rate": "0.05"},
        {"upto": None, "rate": "0.04"},
        {"upto": "900.00", "rate": "0.123"},
    ]
    with pytest.raises(InputError) as caught:
        contract({"kind": "tiered", "mode": "whole", "bands": bands})
    assert {str(issue) for issue in caught.value.issues} == {
        "method.bands[1].upto: bands must ascend: 400.00 is not above 500.00",
        "method.bands[2].upto: only the last band may be open (upto: null)",
        "method.bands[3].upto: the last band must be open (upto: null)",
    }

    with pytest.raises(InputError) as caught:
        contract({"kind": "tiered", "mode": "steep", "bands": [{"upto": "1.234", "rate": "0.1"}]})
    paths = {issue.path for issue in caught.value.issues}
    assert paths == {"method.mode", "method.bands[0].upto"}

    with pytest.raises(InputError) as caught:
        contract({"kind": "flat", "rate": "0.1"})
    assert [issue.path for issue in caught.value.issues] == ["method"]


def test_contract_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "b1.yaml"
    path.write_text(
        "brand: b1\ncurrency: CNY\n"
        "method: {kind: tiered, mode: marginal, bands: "
        '[{upto: "1000000.00", rate: "0.06"}, {upto: null, rate: "0.04"}]}\n'
        'deductions: {returns: true}\nminimum_fee: "3000.00"\n'
        'tolerances: {amount: "0.01", fee_rate: "0.006", fee: "0.01", pending_days: 2}\n'
        'order_map: {prefixes: ["T200P", "T10000P"]}\n',
        encoding="utf-8",
    )
    terms = load_contract(path)
    assert terms.method.kind == "tiered" and terms.order_map.prefixes == ["T200P", "T10000P"]
    assert str(terms.minimum_fee) == "3000.00" and terms.tolerances.pending_days == 2
    path.write_text("brand: b1\nmethod: {kind: percent, rate: 0.05}\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_contract(path)  # an unquoted rate is a float in YAML: refused
    assert caught.value.source == str(path)
    assert [issue.path for issue in caught.value.issues] == ["method.rate"]


def outcomes_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "outcome": ["matched", "matched", "amount_short", "pending", "not_for_orders"],
            "order_id": ["T1", "T2", "T3", "T4", None],
            "shop": ["tm-b1", "jd-b1", "jd-b1", "tm-b1", None],
            "note": ["连衣裙", "", "少付 1.00", "", "调拨出库"],
            "at": [datetime(2026, 11, 11, 0, 0, i) for i in range(5)],
            "joins": [["orders.csv:2", "alipay.csv:7"], [], ["orders.csv:4"], None, []],
        }
    )


CONTROL = {"alipay.csv": Control(4, 1_234_56), "orders.csv": Control(5, 9_900)}


def test_files_are_deterministic_and_shaped(tmp_path: Path) -> None:
    terms = contract({"kind": "percent", "rate": "0.05"}, minimum_fee="10000.00")
    shuffled = SHOPS[::-1]
    random.Random(7).shuffle(shuffled)
    first = write_settlement(
        initial_bill(terms, "2026-11", SHOPS), outcomes_frame(), CONTROL, tmp_path / "1"
    )
    write_settlement(
        initial_bill(terms, "2026-11", shuffled), outcomes_frame(), CONTROL, tmp_path / "2"
    )
    assert [p.name for p in first] == ["bill.json", "bill.xlsx", "outcomes.csv", "summary.json"]
    for name in ("bill.json", "summary.json", "outcomes.csv"):
        assert (tmp_path / "1" / name).read_bytes() == (tmp_path / "2" / name).read_bytes()

    bill_text = (tmp_path / "1" / "bill.json").read_text(encoding="utf-8")
    bill_doc = json.loads(bill_text)
    assert list(bill_doc) == sorted(bill_doc)
    assert bill_doc["fee"] == "10000.00" and bill_doc["top_up"] == "2600.00"
    assert [line["fee"] for line in bill_doc["lines"]] == ["2500.00", "4900.00", "2600.00"]

    summary = json.loads((tmp_path / "1" / "summary.json").read_text(encoding="utf-8"))
    assert set(summary) == {"outcomes", "control", "bill"}
    assert summary["outcomes"] == {o.value: 0 for o in Outcome} | {
        "matched": 2,
        "amount_short": 1,
        "pending": 1,
        "not_for_orders": 1,
    }
    assert summary["control"] == {
        "alipay.csv": {"records": 4, "amount": "1234.56"},
        "orders.csv": {"records": 5, "amount": "99.00"},
    }
    assert set(summary["bill"]) == {"brand", "period", "gmv", "fee", "lines", "held"}
    assert summary["bill"]["gmv"] == "150000.00" and summary["bill"]["held"] == 2

    raw = (tmp_path / "1" / "outcomes.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0]["note"] == "连衣裙" and len(rows) == 5
    assert rows[0]["joins"] == "orders.csv:2; alipay.csv:7"

    book = load_workbook(tmp_path / "1" / "bill.xlsx")
    assert book.sheetnames == ["summary", "jd-b1", "tm-b1", "held exceptions"]
    shop = {row[0]: row[1] for row in book["tm-b1"].iter_rows(values_only=True)}
    assert shop["settled GMV"] == "98000.00" and shop["fee"] == "4900.00"
    held = list(book["held exceptions"].iter_rows(values_only=True))
    assert held[0] == ("outcome", "order_id", "shop", "note", "at", "joins")
    assert sorted(row[0] for row in held[1:]) == ["amount_short", "pending"]
    assert held[1][3] == "少付 1.00" and held[1][5] == "orders.csv:4"
    total = [
        row for row in book["summary"].iter_rows(values_only=True) if row and row[0] == "total"
    ]
    assert total[0][6] == "10000.00"
    assert not [p for p in (tmp_path / "1").iterdir() if p.name.endswith(".tmp")]


def test_unknown_outcome_writes_nothing(tmp_path: Path) -> None:
    bill = initial_bill(contract({"kind": "percent", "rate": "0.05"}), "2026-11", SHOPS)
    frame = pl.DataFrame({"outcome": ["matched", "lost"]})
    with pytest.raises(InputError, match="unknown outcome 'lost'"):
        write_settlement(bill, frame, CONTROL, tmp_path / "out")
    assert not (tmp_path / "out").exists()
