"""The three-way matching: one test per outcome (with its reason), the precedence, split
payments and partial shipments, the control totals, and random inputs (Hypothesis)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.core.errors import InputError
from engine.settlement import control
from engine.settlement.control import ControlError, ensure_reconciled, reconcile
from engine.settlement.match import OUTCOME_SCHEMA, Matching, Tolerance, match
from engine.settlement.records import MOVEMENT_SCHEMA, ORDER_SCHEMA, PAYMENT_SCHEMA, Outcome

START = datetime(2026, 11, 1)
END = datetime(2026, 12, 1)
EARLY = datetime(2026, 11, 5, 10)
TOL = Tolerance(period_start=START, period_end=END, fee_rate=Decimal("0.006"), pending_days=1)


class Book:
    """Hand-built sources: rows added one by one, each with its own file line."""

    def __init__(self) -> None:
        self.orders: list[dict[str, Any]] = []
        self.payments: list[dict[str, Any]] = []
        self.movements: list[dict[str, Any]] = []
        self._line = itertools.count(2)
        self._rec = itertools.count(1)

    def order(self, oid: str, status: str = "completed", amount: int = 10000, **kw: Any) -> str:
        paid = None if status == "unpaid" else EARLY
        row = {
            "order_id": oid,
            "shop": "tm-b1",
            "status": status,
            "amount": amount,
            "created_at": EARLY,
            "paid_at": kw.pop("paid_at", paid),
            "close_reason": None,
            "quantity": 1,
            "source": "orders.csv",
            "line": next(self._line),
        }
        self.orders.append(row | kw)
        return f"orders.csv:{row['line']}"

    def pay(self, oid: str | None, amount: int, kind: str = "payment", **kw: Any) -> str:
        row = {
            "provider": "alipay_trade",
            "record_id": f"R{next(self._rec)}",
            "merchant_order_no": oid,
            "order_id": oid,
            "order_ids": [],
            "kind": kind,
            "amount": amount,
            "fee": 0,
            "at": EARLY,
            "note": "",
            "source": "bill.csv",
            "line": next(self._line),
        }
        self.payments.append(row | kw)
        return f"bill.csv:{row['line']}"

    def move(self, oid: str | None, kind: str = "outbound", quantity: int = 1) -> str:
        row = {
            "doc_no": f"D{next(self._rec)}",
            "kind": kind,
            "at": EARLY,
            "warehouse": "wh",
            "shop": "tm-b1",
            "order_id": oid,
            "sku": "S1",
            "quantity": quantity,
            "logistics_no": "L",
            "source": "wms.csv",
            "line": next(self._line),
        }
        self.movements.append(row)
        return f"wms.csv:{row['line']}"

    def frames(self) -> dict[str, pl.DataFrame]:
        return {
            "orders": pl.DataFrame(self.orders, schema=ORDER_SCHEMA),
            "payments": pl.DataFrame(self.payments, schema=PAYMENT_SCHEMA),
            "movements": pl.DataFrame(self.movements, schema=MOVEMENT_SCHEMA),
        }

    def run(self, tol: Tolerance = TOL) -> Matching:
        f = self.frames()
        result = match(f["orders"], f["payments"], f["movements"], tol)
        assert reconcile(f, result.outcomes) == []
        return result


def row(result: Matching, record: str) -> dict[str, Any]:
    rows = result.outcomes.filter(pl.col("record") == record).to_dicts()
    assert len(rows) == 1, rows
    return rows[0]


def paid_order(book: Book, oid: str, amount: int = 10000) -> tuple[str, str, str, str]:
    """A paid, shipped order with its payment, its 0.6% fee and its outbound."""
    return (
        book.order(oid, amount=amount),
        book.pay(oid, amount),
        book.pay(oid, -(amount * 6 // 1000), kind="fee"),
        book.move(oid),
    )


def test_matched_order_its_bill_rows_and_movement_join_each_other() -> None:
    book = Book()
    o, p, f, m = paid_order(book, "A")
    result = book.run()
    assert row(result, o) == {
        "outcome": "matched",
        "order_id": "A",
        "shop": "tm-b1",
        "source": "orders",
        "record": o,
        "joins": [p, f, m],
        "amount": 10000,
        "expected": 10000,
        "reason": "order A matches its bills and movements",
    }
    assert row(result, p)["outcome"] == "matched" and row(result, p)["joins"] == [o]
    assert row(result, f)["reason"] == "fees of order A total 60 fen, as the contract rate gives"
    assert row(result, f)["expected"] == -60
    assert row(result, m)["joins"] == [o]
    assert row(result, m)["outcome"] == "matched" and row(result, m)["amount"] is None
    assert result.outcomes.schema == pl.Schema(OUTCOME_SCHEMA)


def test_never_paid_order_with_nothing_is_matched_nothing_owed() -> None:
    book = Book()
    o1 = book.order("U", status="unpaid")
    o2 = book.order("C", status="closed", paid_at=None)
    result = book.run()
    assert row(result, o1)["outcome"] == "matched"
    assert row(result, o1)["reason"] == "order U was never paid: nothing owed"
    assert row(result, o2)["outcome"] == "matched"


def test_missing_payment() -> None:
    book = Book()
    o = book.order("A")
    m = book.move("A")
    result = book.run()
    assert row(result, o)["outcome"] == "missing_payment"
    assert row(result, o)["reason"] == (
        "order A is paid on the platform (10000 fen) but no payment is in the bills"
    )
    # Its outbound went out with no money in: that row says so.
    assert row(result, m)["outcome"] == "shipped_unpaid"
    assert row(result, m)["reason"].endswith("which has no payment in the bills")


def test_pending_near_the_period_end_and_missing_before_it() -> None:
    book = Book()
    late = book.order("L", status="paid", paid_at=END - timedelta(hours=3))
    lm = book.move("L")
    edge = book.order("E", paid_at=END - timedelta(days=1, seconds=1))
    result = book.run()
    assert row(result, late)["outcome"] == "pending"
    assert row(result, late)["reason"] == (
        "order L paid at 2026-11-30 21:00, within 1 day(s) of the period end: its payment"
        " may come in the next bill"
    )
    assert row(result, lm)["outcome"] == "pending"  # its order's payment may come
    assert row(result, edge)["outcome"] == "missing_payment"
    # With no pending window the late one is simply missing.
    result = book.run(Tolerance(START, END, pending_days=0))
    assert row(result, late)["outcome"] == "missing_payment"


def test_precedence_first_rule_wins() -> None:
    book = Book()
    # Short and never shipped: the money comes first.
    short = book.order("S", status="paid")
    book.pay("S", 5000)
    # Closed with no refund and nothing shipped: the status comes before not_shipped.
    closed = book.order("C", status="closed")
    book.pay("C", 10000)
    # Paid in the last day, money in, nothing out yet: pending, not not_shipped.
    late = book.order("L", status="paid", paid_at=END - timedelta(hours=1))
    lp = book.pay("L", 10000)
    # Never paid, shipped and money in: shipped_unpaid before status_mismatch.
    unpaid = book.order("U", status="unpaid")
    book.pay("U", 10000)
    book.move("U")
    result = book.run()
    assert row(result, short)["outcome"] == "amount_short"
    assert row(result, closed)["outcome"] == "status_mismatch"
    assert row(result, late)["outcome"] == "pending"
    assert row(result, late)["reason"].endswith("its outbound may come later")
    assert row(result, lp)["outcome"] == "pending"
    assert row(result, unpaid)["outcome"] == "shipped_unpaid"


def test_missing_order() -> None:
    book = Book()
    none = book.pay(None, 500, merchant_order_no="M-77")
    ghost = book.pay("GHOST", 500)
    ret = book.move("GHOST", kind="return")
    result = book.run()
    assert row(result, none)["outcome"] == "missing_order"
    assert (
        row(result, none)["reason"] == "payment row with no order number (merchant order no M-77)"
    )
    assert (
        row(result, ghost)["reason"] == "payment row for order GHOST, which is not among the orders"
    )
    assert row(result, ghost)["joins"] == []
    assert row(result, ret)["outcome"] == "missing_order"


@pytest.mark.parametrize(
    ("paid", "outcome", "tail"),
    [
        (9000, "amount_short", "(1000 fen short)"),
        (11000, "amount_over", "(1000 fen over)"),
    ],
)
def test_amount_short_and_over_reach_the_payment_rows(paid: int, outcome: str, tail: str) -> None:
    book = Book()
    o = book.order("A")
    p1 = book.pay("A", paid - 4000)
    p2 = book.pay("A", 4000)
    book.move("A")
    result = book.run()
    assert row(result, o)["outcome"] == outcome
    assert row(result, o)["reason"] == (
        f"order A: the bills paid {paid} fen, the platform says 10000 fen {tail}"
    )
    assert row(result, o)["expected"] == paid
    for p in (p1, p2):
        assert row(result, p)["outcome"] == outcome and row(result, p)["joins"] == [o]
        assert row(result, p)["expected"] == 10000


def test_amount_tolerance_and_refund_above_payment() -> None:
    book = Book()
    o = book.order("A")
    book.pay("A", 9995)
    book.move("A")
    assert row(book.run(), o)["outcome"] == "amount_short"
    assert row(book.run(Tolerance(START, END, amount_fen=5)), o)["outcome"] == "matched"
    assert row(book.run(Tolerance(START, END, amount_fen=4)), o)["outcome"] == "amount_short"
    book = Book()
    o = book.order("B", status="closed")
    book.pay("B", 10000)
    book.pay("B", -12000, kind="refund")
    result = book.run()
    assert row(result, o)["outcome"] == "amount_over"
    assert row(result, o)["reason"] == "order B: the bills refunded 12000 fen of 10000 fen paid"


def test_status_mismatch_closed_without_refund_and_refund_on_open_order() -> None:
    book = Book()
    closed = book.order("C", status="closed")
    book.pay("C", 10000)
    open_ = book.order("D", status="completed")
    book.pay("D", 10000)
    refund = book.pay("D", -10000, kind="refund")
    book.move("D")
    partial = book.order("P", status="completed")
    book.pay("P", 10000)
    book.pay("P", -500, kind="refund")  # a price difference made good: normal
    book.move("P")
    unpaid = book.order("U", status="unpaid")
    book.pay("U", 10000)
    result = book.run()
    assert row(result, closed)["outcome"] == "status_mismatch"
    assert row(result, closed)["reason"] == (
        "order C was closed after payment but the bills hold no refund for it"
    )
    assert row(result, open_)["reason"] == (
        "order D was refunded in full (10000 fen) in the bills but is completed on the platform"
    )
    assert row(result, refund)["outcome"] == "status_mismatch"
    assert row(result, partial)["outcome"] == "matched"
    assert row(result, unpaid)["outcome"] == "status_mismatch"
    assert "never paid, yet the bills hold 10000 fen" in row(result, unpaid)["reason"]


def test_refund_unreturned_and_refund_with_return() -> None:
    book = Book()
    o = book.order("A", status="closed")
    book.pay("A", 10000)
    book.pay("A", -10000, kind="refund")
    m = book.move("A", quantity=2)
    back = book.order("B", status="closed")
    book.pay("B", 10000)
    book.pay("B", -10000, kind="refund")
    book.move("B")
    r = book.move("B", kind="return")
    early = book.order("E", status="closed")  # refunded before anything went out
    book.pay("E", 10000)
    book.pay("E", -10000, kind="refund")
    result = book.run()
    assert row(result, o)["outcome"] == "refund_unreturned"
    assert row(result, o)["reason"] == (
        "order A was refunded in full (10000 fen) after 2 unit(s) went out, none came back"
    )
    assert row(result, m)["outcome"] == "refund_unreturned"
    assert row(result, back)["outcome"] == "matched" and row(result, r)["outcome"] == "matched"
    assert row(result, early)["outcome"] == "matched"


def test_not_shipped() -> None:
    book = Book()
    o = book.order("A", status="paid")
    p = book.pay("A", 10000)
    result = book.run()
    assert row(result, o)["outcome"] == "not_shipped"
    assert row(result, o)["reason"] == (
        "order A is paid (10000 fen) and not refunded, but nothing went out for it"
    )
    assert row(result, p)["outcome"] == "not_shipped"


def test_shipped_unpaid() -> None:
    book = Book()
    o = book.order("U", status="unpaid")
    m = book.move("U", quantity=3)
    stray = book.move("NOPE")
    blank = book.move(None)
    result = book.run()
    assert row(result, o)["outcome"] == "shipped_unpaid"
    assert row(result, o)["reason"] == "order U was never paid (unpaid) but 3 unit(s) went out"
    assert row(result, m)["outcome"] == "shipped_unpaid"
    assert row(result, stray)["outcome"] == "shipped_unpaid"
    assert row(result, stray)["reason"].endswith("for order NOPE, which is not among the orders")
    assert row(result, blank)["reason"].endswith("with no order number")


def test_fee_mismatch_and_tolerance() -> None:
    book = Book()
    o = book.order("A")
    book.pay("A", 10000)
    f = book.pay("A", -80, kind="fee")
    book.move("A")
    near = book.order("B")
    book.pay("B", 10000)
    fn = book.pay("B", -61, kind="fee")  # one fen off: within fee_tolerance_fen
    book.move("B")
    result = book.run()
    assert row(result, f)["outcome"] == "fee_mismatch"
    assert row(result, f)["reason"] == (
        "fees of order A total 80 fen; the contract rate 0.006 of 10000 fen paid is 60 fen"
    )
    assert row(result, f)["expected"] == -60
    assert row(result, o)["outcome"] == "matched"  # the order's money is right
    assert row(result, fn)["outcome"] == "matched" and row(result, near)["outcome"] == "matched"
    unchecked = book.run(Tolerance(START, END))
    assert row(unchecked, f)["outcome"] == "matched"
    assert "no contract rate given" in row(unchecked, f)["reason"]


def test_duplicate_keeps_the_first_and_counts_it_once() -> None:
    book = Book()
    o = book.order("A")
    first = book.pay("A", 10000, record_id="T1")
    again = book.pay("A", 10000, record_id="T1")
    other = book.pay("A", 0, record_id="T1", provider="wechat")  # another provider's T1
    book.move("A")
    result = book.run()
    assert row(result, again)["outcome"] == "duplicate"
    assert row(result, again)["reason"] == f"alipay_trade record T1 repeats {first}"
    assert row(result, again)["joins"] == [first]
    assert row(result, first)["outcome"] == "matched"
    assert row(result, other)["outcome"] == "matched"
    assert row(result, o)["outcome"] == "matched"  # 10000, not 20000
    assert row(result, o)["joins"][:2] == [first, other]


def test_not_for_orders() -> None:
    book = Book()
    other = book.pay(None, 100000, kind="other")
    comm = book.pay("A", -300, kind="commission")
    fee = book.pay(None, -5, kind="fee")
    fee_ghost = book.pay("GHOST", -5, kind="fee")
    moves = [book.move(None, kind=k) for k in ("transfer_out", "transfer_in", "purchase_in")]
    result = book.run()
    assert row(result, other)["reason"] == "a other row of the bill, no order's money"
    assert row(result, comm)["reason"] == "a commission row of the bill, no order's money"
    assert row(result, fee)["reason"] == "a fee row tied to no order"
    assert row(result, fee_ghost)["reason"] == "a fee row for GHOST, which is not among the orders"
    assert row(result, moves[0])["reason"] == "a transfer_out movement, for no order"
    for ref in (other, comm, fee, fee_ghost, *moves):
        assert row(result, ref)["outcome"] == "not_for_orders"


def test_split_payments_and_partial_shipments_are_one_to_many() -> None:
    book = Book()
    o = book.order("A", amount=30000)
    pays = [book.pay("A", 10000) for _ in range(3)]
    moves = [book.move("A", quantity=q) for q in (1, 2)]
    result = book.run()
    assert row(result, o)["outcome"] == "matched"
    assert row(result, o)["joins"] == [*pays, *moves]
    assert all(row(result, r)["joins"] == [o] for r in (*pays, *moves))


def test_one_bill_row_for_two_orders_is_unsupported_and_says_so() -> None:
    # Many-to-one is not supported: the reader must split a combined payment.
    book = Book()
    book.order("A")
    book.order("B")
    both = book.pay("A,B", 20000)
    result = book.run()
    assert row(result, both)["outcome"] == "missing_order"


def test_bad_input_names_the_record_and_field() -> None:
    book = Book()
    book.order("A", status="lost")
    book.order("A")
    f = book.frames()
    with pytest.raises(InputError) as error:
        match(f["orders"], f["payments"], f["movements"], TOL)
    paths = [issue.path for issue in error.value.issues]
    assert paths == ["orders.csv:2.status", "orders.csv:2.order_id", "orders.csv:3.order_id"]
    with pytest.raises(InputError) as error:
        match(f["orders"].drop("amount"), f["payments"], f["movements"], TOL)
    assert [issue.path for issue in error.value.issues] == ["orders.amount"]
    with pytest.raises(InputError):
        match(f["orders"], f["payments"], f["movements"], Tolerance(END, START))


def test_control_catches_tampered_outcomes() -> None:
    book = Book()
    paid_order(book, "A")
    paid_order(book, "B")
    f = book.frames()
    out = match(f["orders"], f["payments"], f["movements"], TOL).outcomes
    assert reconcile(f, out) == []
    dropped = out.filter(pl.col("record") != "bill.csv:3")
    assert reconcile(f, dropped)[:2] == [
        "payments: 4 record(s) in, 3 outcome row(s)",
        "payments: 19880 fen in, 9880 fen over the outcomes",
    ]
    # Same count and money, but one record twice and another never.
    swapped = out.with_columns(
        pl.when(pl.col("record") == "wms.csv:5")
        .then(pl.lit("wms.csv:9"))
        .otherwise(pl.col("record"))
        .alias("record")
    )
    assert any(
        "wms.csv:5 is in the input 1 time(s) and in the outcomes 0" in p
        for p in reconcile(f, swapped)
    )
    richer = out.with_columns(pl.col("amount") + 1)
    assert "orders: 20000 fen in, 20002 fen over the outcomes" in reconcile(f, richer)
    with pytest.raises(ControlError) as error:
        ensure_reconciled(f, dropped)
    assert error.value.exit_code == 5


def test_control_per_shop_and_day_catches_money_moved_between_records() -> None:
    book = Book()
    book.order("A")
    book.pay("A", 10000)
    book.order("B", shop="jd-b1", paid_at=EARLY + timedelta(days=1))
    book.pay("B", 10000, at=EARLY + timedelta(days=1))
    f = book.frames()
    out = match(f["orders"], f["payments"], f["movements"], TOL).outcomes
    table = control.by_shop_and_day(f, out)
    ins = table.filter((pl.col("source") == "payments") & (pl.col("line") == "in"))
    assert ins.select("shop", "records", "amount").rows() == [
        ("jd-b1", 1, 10000),
        ("tm-b1", 1, 10000),
    ]
    # Every record once, each source's money whole: only the per-day totals see it.
    moved = out.with_columns(
        pl.when((pl.col("source") == "payments") & (pl.col("order_id") == "A"))
        .then(pl.col("amount") - 1)
        .when((pl.col("source") == "payments") & (pl.col("order_id") == "B"))
        .then(pl.col("amount") + 1)
        .otherwise(pl.col("amount"))
        .alias("amount")
    )
    assert reconcile(f, moved) == [
        "payments, shop jd-b1, 2026-11-06: 1 record(s) and 10000 fen in, 1 and 10001 fen"
        " over the outcomes",
        "payments, shop tm-b1, 2026-11-05: 1 record(s) and 10000 fen in, 1 and 9999 fen"
        " over the outcomes",
    ]


def test_control_table_accounts_per_source_and_outcome() -> None:
    book = Book()
    paid_order(book, "A")
    book.order("M")
    book.pay(None, 700, kind="other")
    result = book.run()
    lines = {
        (r["source"], r["line"]): (r["records"], r["amount"])
        for r in result.control.iter_rows(named=True)
    }
    assert lines[("orders", "in")] == (2, 20000)
    assert lines[("orders", "matched")] == (1, 10000)
    assert lines[("orders", "missing_payment")] == (1, 10000)
    assert lines[("payments", "in")] == (3, 10640)
    assert lines[("payments", "not_for_orders")] == (1, 700)
    assert lines[("movements", "in")] == (1, 0)


# Random sources: every record gets exactly one outcome, the control holds, and the same
# input gives the same frame.
_OIDS = [f"O{i}" for i in range(6)] + [None]
_order_st = st.fixed_dictionaries(
    {
        "status": st.sampled_from(["unpaid", "paid", "shipped", "completed", "closed"]),
        "amount": st.integers(0, 5000),
        "late": st.booleans(),
    }
)
_pay_st = st.fixed_dictionaries(
    {
        "oid": st.sampled_from(_OIDS + ["X"]),
        "kind": st.sampled_from(["payment", "payment", "refund", "fee", "commission", "other"]),
        "amount": st.integers(-5000, 5000),
        "rec": st.integers(0, 12),
        "with": st.lists(st.sampled_from(_OIDS + ["X"]), max_size=2),
    }
)
_move_st = st.fixed_dictionaries(
    {
        "oid": st.sampled_from(_OIDS + ["X"]),
        "kind": st.sampled_from(["outbound", "outbound", "return", "transfer_in", "purchase_in"]),
        "quantity": st.integers(1, 3),
    }
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    orders=st.lists(_order_st, max_size=6),
    payments=st.lists(_pay_st, max_size=14),
    movements=st.lists(_move_st, max_size=10),
)
def test_random_sources_give_one_outcome_per_record(
    orders: list[dict[str, Any]], payments: list[dict[str, Any]], movements: list[dict[str, Any]]
) -> None:
    book = Book()
    for i, o in enumerate(orders):
        paid_at = (
            None
            if o["status"] == "unpaid" or (o["status"] == "closed" and i % 2)
            else (END - timedelta(hours=2) if o["late"] else EARLY)
        )
        book.order(f"O{i}", status=o["status"], amount=o["amount"], paid_at=paid_at)
    for p in payments:
        if p["with"] and p["kind"] in ("payment", "refund"):  # a combined row
            ids = [p["oid"], *p["with"]]
            book.pay(None, p["amount"], kind=p["kind"], record_id=f"R{p['rec']}", order_ids=ids)
        else:
            book.pay(p["oid"], p["amount"], kind=p["kind"], record_id=f"R{p['rec']}")
    for m in movements:
        book.move(m["oid"], kind=m["kind"], quantity=m["quantity"])
    f = book.frames()
    first = match(f["orders"], f["payments"], f["movements"], TOL)
    again = match(f["orders"], f["payments"], f["movements"], TOL)
    out = first.outcomes
    assert out.height == len(orders) + len(payments) + len(movements)
    assert out.get_column("record").n_unique() == out.height  # every line its own row
    assert reconcile(f, out) == []
    assert out.get_column("outcome").is_in([o.value for o in Outcome]).all()
    assert out.get_column("reason").null_count() == 0
    assert out.equals(again.outcomes) and first.control.equals(again.control)
    # The orders' money is the money of the first row of each record naming only known
    # orders, split but never lost or made up.
    known, seen, live_money = {f"O{i}" for i in range(len(orders))}, set(), 0
    for p in f["payments"].iter_rows(named=True):
        first_time = p["record_id"] not in seen
        seen.add(p["record_id"])
        names = p["order_ids"] if len(p["order_ids"]) > 1 else [p["order_id"]]
        if first_time and p["kind"] in ("payment", "refund") and set(names) <= known:
            live_money += p["amount"]
    assert first.allocations.get_column("amount").sum() == live_money
    # Repeats of a (provider, record_id) pair are duplicates, and only those.
    pays = out.filter(pl.col("source") == "payments")
    assert pays.filter(pl.col("outcome") == "duplicate").height == len(payments) - len(
        {p["rec"] for p in payments}
    )


def test_combined_payment_pays_each_order_its_share() -> None:
    book = Book()
    oa, ob = book.order("A", amount=3000), book.order("B", amount=7001)
    ma, mb = book.move("A"), book.move("B")
    p = book.pay(None, 10001, order_ids=["A", "B"])
    result = book.run()
    assert row(result, oa)["outcome"] == row(result, ob)["outcome"] == "matched"
    assert row(result, oa)["joins"] == [p, ma] and row(result, ob)["joins"] == [p, mb]
    assert row(result, p) | {"reason": ""} == {
        "outcome": "matched",
        "order_id": None,
        "shop": "tm-b1",
        "source": "payments",
        "record": p,
        "joins": [oa, ob],
        "amount": 10001,
        "expected": 10001,
        "reason": "",
    }
    assert row(result, p)["reason"] == "combined payment row for orders A, B: all of them match"
    shares = dict(result.allocations.select("order_id", "amount").iter_rows())
    assert shares == {"A": 3000, "B": 7001}


def test_combined_payment_short_is_short_on_its_orders_and_split_to_the_fen() -> None:
    book = Book()
    for oid in "ABC":
        book.order(oid, amount=3333)
        book.move(oid)
    p = book.pay(None, 9000, order_ids=["A", "B", "C"])
    result = book.run()
    assert row(result, p)["outcome"] == "amount_short"
    assert row(result, p)["reason"].startswith("combined payment row for orders A, B, C: order A")
    shares = result.allocations.get_column("amount").to_list()
    assert sum(shares) == 9000 and max(shares) - min(shares) <= 1


def test_combined_payment_naming_an_unknown_order_is_missing_order() -> None:
    book = Book()
    oa = book.order("A")
    book.move("A")
    p = book.pay(None, 20000, order_ids=["A", "Z"])
    result = book.run()
    assert row(result, p)["outcome"] == "missing_order"
    assert row(result, p)["reason"] == (
        "combined payment row for orders A, Z: Z not among the orders"
    )
    assert row(result, p)["joins"] == [oa]
    # Its money went to no order: A has no payment.
    assert row(result, oa)["outcome"] == "missing_payment"
    assert result.allocations.height == 0


def test_combined_payment_near_the_end_with_an_order_not_yet_exported_is_pending() -> None:
    book = Book()
    book.order("A")
    p = book.pay(None, 20000, order_ids=["A", "Z"], at=END - timedelta(hours=1))
    assert row(book.run(), p)["outcome"] == "pending"


def test_a_payment_row_carrying_its_own_fee_is_checked_against_the_rate() -> None:
    book = Book()
    book.order("A")
    book.move("A")
    good = book.pay("A", 10000, fee=60, provider="wechat")
    ob = book.order("B")
    book.move("B")
    bad = book.pay("B", 10000, fee=90, provider="wechat")
    result = book.run()
    assert row(result, good)["outcome"] == "matched"
    assert row(result, bad)["outcome"] == "fee_mismatch"
    assert row(result, bad)["reason"] == (
        "the wechat row's own service fee is 90 fen; the contract rate 0.006 of its 10000 fen"
        " is 60 fen"
    )
    assert row(result, ob)["outcome"] == "matched"  # the order itself is whole
    untold = Tolerance(period_start=START, period_end=END, fee_rate=None, pending_days=1)
    assert row(book.run(untold), bad)["outcome"] == "matched"
