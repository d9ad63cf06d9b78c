"""A straightforward pandas implementation of the three-way matching: the baseline the
benchmark times omnistock against, and a cross-check of match.py.

`match(orders, payments, movements, tol)` follows the precedence written in match.py's
docstring, rule for rule, with the plain pandas idioms (boolean masks, groupby-sum,
left merges, `np.select` for "the first rule that fits", text built from the rows a
rule decides), and returns one row per input record in the same order as match.py
(orders, then payments, then movements, each in input order) with the same `outcome`,
`order_id`, `record`, `amount` and `expected`, and a `reason` carrying the record's
figures in its own words. It leaves out one thing match.py does: the `joins` column
(the records each one was matched with), so the baseline does a little less work than
match.py; that flatters it in the benchmark's ratio, not omnistock.

Its input is what the readers make (records.py schemas, as pandas: strings as `str`,
fen and counts as int64, times as datetime64[us] with NaT) and what match.py's own input
check lets through: order ids present and unique, statuses and kinds known. Amounts,
quantities, sources and lines are taken as present, as every reader writes them.

Combined payments (one bill row paying several orders, `order_ids`) are not done here,
though match.py does them: `save_frames` refuses a month that holds one (InputError
naming the rows), and the benchmark's generated months hold none.

`save_frames` and `load_frames` hand the readers' frames from polars to pandas through
plain CSV files (no pyarrow is needed), so the pandas process holds pandas data only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from engine.core.errors import InputError, Issue
from engine.settlement.match import Tolerance
from engine.settlement.records import (
    MOVEMENT_SCHEMA,
    ORDER_SCHEMA,
    PAYMENT_SCHEMA,
    MovementKind,
    OrderStatus,
    Outcome,
    PaymentKind,
)

__all__ = ["COLUMNS", "load_frames", "match", "save_frames"]

COLUMNS = ["outcome", "order_id", "source", "record", "amount", "expected", "reason"]
SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "orders": ORDER_SCHEMA,
    "payments": PAYMENT_SCHEMA,
    "movements": MOVEMENT_SCHEMA,
}

_PAY, _REFUND, _FEE = PaymentKind.PAYMENT.value, PaymentKind.REFUND.value, PaymentKind.FEE.value
_OUT, _RETURN = MovementKind.OUTBOUND.value, MovementKind.RETURN.value
_O = Outcome

# A rule: where it holds (a bool array), the outcome it gives, and its reason written
# from the rows it decides (a frame of those rows in, one text per row out).
Say = Callable[[pd.DataFrame], Any]
Rule = tuple[Any, str, Say]


def _flat_columns(schema: Mapping[str, pl.DataType]) -> list[str]:
    # `order_ids` (the orders of a combined payment) is the one list column; CSV holds
    # no lists, and the reference does not do combined payments.
    return [name for name, dtype in schema.items() if not isinstance(dtype, pl.List)]


def save_frames(frames: Mapping[str, pl.DataFrame], directory: Path) -> None:
    """Each source's frame as `<source>.csv` in `directory` (blank cells are nulls).
    InputError when a bill row is a combined payment: the reference does not do them."""
    combined = frames["payments"].filter(pl.col("order_ids").list.len() > 1)
    if combined.height:
        issues = [
            Issue(f"{row['source']}:{row['line']}", "a combined payment: not in the reference")
            for row in combined.head(20).iter_rows(named=True)
        ]
        raise InputError(issues, "reference matching")
    directory.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        frame.select(_flat_columns(SCHEMAS[name])).write_csv(directory / f"{name}.csv")


def load_frames(directory: Path) -> dict[str, pd.DataFrame]:
    """The frames `save_frames` wrote, as pandas frames of the records schemas."""
    loaded = {}
    for name, full in SCHEMAS.items():
        schema = {col: full[col] for col in _flat_columns(full)}
        strings = [col for col, dtype in schema.items() if dtype == pl.String()]
        numbers = [col for col, dtype in schema.items() if dtype == pl.Int64()]
        times = [col for col, dtype in schema.items() if isinstance(dtype, pl.Datetime)]
        dtypes: dict[str, Any] = {col: "str" for col in strings + times}
        dtypes.update({col: "Int64" for col in numbers})
        # Only a blank cell is missing: "NA" or "null" in a note stays text.
        frame = pd.read_csv(
            directory / f"{name}.csv", dtype=dtypes, keep_default_na=False, na_values=[""]
        )
        for col in times:
            frame[col] = pd.to_datetime(frame[col], format="ISO8601").astype("datetime64[us]")
        for col in numbers:  # plain int64 where nothing is missing: numpy speed
            if not frame[col].hasnans:
                frame[col] = frame[col].astype("int64")
        loaded[name] = frame
    return loaded


def _ref(frame: pd.DataFrame) -> pd.Series:
    """A record's `file:line`."""
    return frame["source"] + ":" + frame["line"].astype("str")


def _t(column: pd.Series) -> pd.Series:
    """A column as text for a reason; "none" where it is missing."""
    return column.astype(object).where(column.notna(), "none").astype("str")


def _at(column: pd.Series) -> pd.Series:
    return column.dt.strftime("%Y-%m-%d %H:%M")


def _decide(frame: pd.DataFrame, rules: list[Rule], default: tuple[Any, Say]) -> tuple[Any, Any]:
    """Per row, the outcome of the first rule that holds (np.select keeps the list's
    order: the precedence) and its reason, written for the rows each rule decides;
    rows no rule decides take `default` (an outcome, or a column of them, and its say)."""
    conditions = [np.asarray(cond, dtype=bool) for cond, _, _ in rules]
    chosen = np.select(conditions, list(range(len(rules))), -1)
    outcome = np.empty(len(frame), dtype=object)
    reason = np.empty(len(frame), dtype=object)
    for index, (_, out, say) in [*enumerate(rules), (-1, (None, *default))]:
        rows = chosen == index
        if not rows.any():
            continue
        if isinstance(out, pd.Series):
            outcome[rows] = out.to_numpy()[rows]
        else:
            outcome[rows] = str(out)
        reason[rows] = np.asarray(say(frame[rows]), dtype=object)
    return outcome, reason


def _window(channel: pd.Series, tol: Tolerance) -> Any:
    """Per row, the days its channel's records may wait for their counterpart."""
    if not tol.pending_by_channel:
        return np.full(len(channel), tol.pending_days, dtype=np.int64)
    days = channel.map(dict(tol.pending_by_channel)).fillna(tol.pending_days)
    return days.astype("int64").to_numpy()


def _recent(time: pd.Series, days: Any, tol: Tolerance) -> Any:
    """True where `time` is within `days` of the period end."""
    cutoff = pd.Timestamp(tol.period_end) - pd.to_timedelta(days, unit="D")
    return (days > 0) & (time.to_numpy() >= cutoff.to_numpy())  # NaT compares False


def _with(frame: pd.DataFrame, extra: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """`frame` with the per-order `columns` of `extra` (indexed by order id), 0 where an
    order has none."""
    joined = frame.merge(extra, left_on="order_id", right_index=True, how="left")
    for col in columns:
        joined[col] = joined[col].fillna(0).astype("int64")
    return joined


def _order_verdicts(o: pd.DataFrame, tol: Tolerance) -> tuple[Any, Any, Any]:
    """Outcome, reason and never-paid flag of every order (match.py's order rules)."""
    status = o["status"]
    closed = (status == OrderStatus.CLOSED.value).to_numpy()
    never_paid = (status == OrderStatus.UNPAID.value).to_numpy() | (
        closed & o["paid_at"].isna().to_numpy()
    )
    has_pay = o["n_pay"].to_numpy() > 0
    has_ref = o["n_ref"].to_numpy() > 0
    paid, refunded = o["paid"].to_numpy(), o["refunded"].to_numpy()
    amount = o["amount"].to_numpy()
    shipped = o["shipped"].to_numpy() > 0
    returned = o["returned"].to_numpy()
    full_refund = has_ref & (refunded >= paid)
    o = o.assign(window=_window(o["shop"], tol))
    recent = _recent(o["paid_at"], o["window"].to_numpy(), tol)

    def order(f: pd.DataFrame) -> pd.Series:
        return "order " + _t(f["order_id"])

    rules: list[Rule] = [
        (
            never_paid & shipped,
            _O.SHIPPED_UNPAID,
            lambda f: order(f) + " (" + _t(f["status"]) + ") was never paid, yet "
            + _t(f["shipped"]) + " unit(s) were shipped",
        ),
        (
            never_paid & (has_pay | has_ref),
            _O.STATUS_MISMATCH,
            lambda f: order(f) + " (" + _t(f["status"]) + ") was never paid, yet the bills hold "
            + _t(f["paid"] - f["refunded"]) + " fen for it",
        ),
        (
            never_paid & (returned > 0),
            _O.STATUS_MISMATCH,
            lambda f: order(f) + " was never paid, yet " + _t(f["returned"])
            + " unit(s) were returned",
        ),
        (never_paid, _O.MATCHED, lambda f: order(f) + " was never paid: nothing is due"),
        (
            ~has_pay & recent,
            _O.PENDING,
            lambda f: order(f) + " was paid " + _at(f["paid_at"]) + ", inside the "
            + _t(f["window"]) + "-day window: its payment may be in the next bill",
        ),
        (
            ~has_pay,
            _O.MISSING_PAYMENT,
            lambda f: order(f) + " is paid on the platform (" + _t(f["amount"])
            + " fen) and absent from the bills",
        ),
        (
            paid < amount - tol.amount_fen,
            _O.AMOUNT_SHORT,
            lambda f: order(f) + ": " + _t(f["paid"]) + " fen in the bills against "
            + _t(f["amount"]) + " fen on the platform, " + _t(f["amount"] - f["paid"])
            + " fen short",
        ),
        (
            paid > amount + tol.amount_fen,
            _O.AMOUNT_OVER,
            lambda f: order(f) + ": " + _t(f["paid"]) + " fen in the bills against "
            + _t(f["amount"]) + " fen on the platform, " + _t(f["paid"] - f["amount"])
            + " fen over",
        ),
        (
            refunded > paid + tol.amount_fen,
            _O.AMOUNT_OVER,
            lambda f: order(f) + ": " + _t(f["refunded"]) + " fen refunded of "
            + _t(f["paid"]) + " fen paid",
        ),
        (
            closed & ~has_ref,
            _O.STATUS_MISMATCH,
            lambda f: order(f) + " was closed after payment with no refund in the bills",
        ),
        (
            ~closed & full_refund,
            _O.STATUS_MISMATCH,
            lambda f: order(f) + " was refunded in full (" + _t(f["refunded"])
            + " fen) in the bills yet is " + _t(f["status"]) + " on the platform",
        ),
        (
            closed & full_refund & shipped & (returned == 0),
            _O.REFUND_UNRETURNED,
            lambda f: order(f) + " was refunded in full (" + _t(f["refunded"]) + " fen) after "
            + _t(f["shipped"]) + " unit(s) were shipped, and none were returned",
        ),
        (
            ~has_ref & ~shipped & recent,
            _O.PENDING,
            lambda f: order(f) + " was paid " + _at(f["paid_at"]) + ", inside the "
            + _t(f["window"]) + "-day window: its outbound may come later",
        ),
        (
            ~has_ref & ~shipped,
            _O.NOT_SHIPPED,
            lambda f: order(f) + " is paid (" + _t(f["paid"])
            + " fen), not refunded, and nothing was shipped",
        ),
    ]  # fmt: skip
    outcome, reason = _decide(
        o, rules, (_O.MATCHED, lambda f: order(f) + " agrees with its bills and movements")
    )
    return outcome, reason, never_paid


def match(
    orders: pd.DataFrame, payments: pd.DataFrame, movements: pd.DataFrame, tol: Tolerance
) -> pd.DataFrame:
    """One row per input record, outcome by match.py's precedence (see the module doc)."""
    o = orders.reset_index(drop=True).assign(record=lambda f: _ref(f))
    p = payments.reset_index(drop=True).assign(record=lambda f: _ref(f))
    m = movements.reset_index(drop=True).assign(record=lambda f: _ref(f))

    # Payments: repeats of a (provider, record id) first, so they count nowhere.
    same = p.groupby(["provider", "record_id"], dropna=False, sort=False)
    p["dup"] = p["record_id"].notna() & (same.cumcount() > 0)
    p["first_ref"] = same["record"].transform("first")
    p["known"] = p["order_id"].isin(o["order_id"])
    kind = p["kind"]
    live = ~p["dup"] & p["known"]
    per_order = pd.DataFrame(
        {
            "order_id": p["order_id"],
            "n_pay": (kind == _PAY).astype("int64"),
            "paid": p["amount"].where(kind == _PAY, 0),
            "n_ref": (kind == _REFUND).astype("int64"),
            "refunded": -p["amount"].where(kind == _REFUND, 0),
            "fee_total": -p["amount"].where(kind == _FEE, 0),
        }
    )
    money = ["n_pay", "paid", "n_ref", "refunded", "fee_total"]
    bills = per_order[live & kind.isin([_PAY, _REFUND, _FEE])].groupby("order_id").sum()

    m["known"] = m["order_id"].isin(o["order_id"])
    move_kind = m["kind"]
    units = pd.DataFrame(
        {
            "order_id": m["order_id"],
            "shipped": m["quantity"].where(move_kind == _OUT, 0),
            "returned": m["quantity"].where(move_kind == _RETURN, 0),
        }
    )
    for_orders = move_kind.isin([_OUT, _RETURN])
    moved = units[for_orders & m["known"]].groupby("order_id").sum()

    # Orders: their sums, then their outcome.
    o = _with(_with(o, bills, money), moved, ["shipped", "returned"])
    o["outcome"], o["reason"], o["never_paid"] = _order_verdicts(o, tol)
    order_rows = pd.DataFrame(
        {
            "outcome": o["outcome"],
            "order_id": o["order_id"],
            "source": "orders",
            "record": o["record"],
            "amount": o["amount"].astype("Int64"),
            "expected": o["paid"].astype("Int64").where(o["n_pay"] > 0),
            "reason": o["reason"],
        }
    )
    verdict = o.set_index("order_id")[
        ["outcome", "reason", "never_paid", "n_pay", "paid", "fee_total", "amount"]
    ].rename(columns={"outcome": "o_outcome", "reason": "o_reason", "amount": "order_amount"})

    pay_rows = _payment_rows(
        p.merge(verdict, left_on="order_id", right_index=True, how="left"), tol
    )
    move_rows = _movement_rows(m.merge(verdict, left_on="order_id", right_index=True, how="left"))
    return pd.concat([order_rows, pay_rows, move_rows], ignore_index=True)[COLUMNS]


def _payment_rows(p: pd.DataFrame, tol: Tolerance) -> pd.DataFrame:
    """Bill rows (with their order's verdict beside): their own rules, else their
    order's outcome and reason."""
    kind = p["kind"]
    is_fee = (kind == _FEE).to_numpy()
    known = p["known"].to_numpy()
    rate = str(tol.fee_rate)
    p = p.assign(paid=p["paid"].fillna(0).astype("int64"), window=_window(p["provider"], tol))
    if tol.fee_rate is None:
        p["expected_fee"] = pd.Series(pd.NA, index=p.index, dtype="Int64")
        fee_off = np.zeros(len(p), dtype=bool)
        row_fee_off = np.zeros(len(p), dtype=bool)
    else:
        num, den = tol.fee_rate.as_integer_ratio()
        # The contract fee of the order's money in, and of the row's own amount, half up.
        p["expected_fee"] = ((p["paid"] * (2 * num) + den) // (2 * den)).astype("Int64")
        p["row_fee"] = (p["amount"] * (2 * num) + den) // (2 * den)
        fee_total = p["fee_total"].fillna(0).astype("int64")
        fee_off = ((fee_total - p["expected_fee"]).abs() > tol.fee_tolerance_fen).to_numpy()
        row_fee_off = (
            (kind == _PAY)
            & (p["fee"] > 0)
            & ((p["fee"] - p["row_fee"]).abs() > tol.fee_tolerance_fen)
        ).to_numpy()
    no_number = p["order_id"].isna().to_numpy()
    money_kind = kind.isin([_PAY, _REFUND]).to_numpy()

    def row(f: pd.DataFrame) -> pd.Series:
        return _t(f["kind"]) + " row for order " + _t(f["order_id"])

    rules: list[Rule] = [
        (
            p["dup"],
            _O.DUPLICATE,
            lambda f: _t(f["provider"]) + " record " + _t(f["record_id"]) + " repeats "
            + _t(f["first_ref"]),
        ),
        (
            kind.isin([PaymentKind.OTHER.value, PaymentKind.COMMISSION.value]),
            _O.NOT_FOR_ORDERS,
            lambda f: "a " + _t(f["kind"]) + " row of the bill: no order's money",
        ),
        (
            is_fee & ~known,
            _O.NOT_FOR_ORDERS,
            lambda f: pd.Series(
                np.where(
                    f["order_id"].isna(),
                    "a fee row of no order",
                    "a fee row for " + _t(f["order_id"]) + ", not among the orders",
                ),
                index=f.index,
            ),
        ),
        (
            is_fee & (tol.fee_rate is None),
            _O.MATCHED,
            lambda f: "fee of order " + _t(f["order_id"]) + ": no contract rate to check it by",
        ),
        (
            is_fee & fee_off,
            _O.FEE_MISMATCH,
            lambda f: "fees of order " + _t(f["order_id"]) + ": " + _t(f["fee_total"])
            + " fen, where the rate " + rate + " of " + _t(f["paid"]) + " fen paid gives "
            + _t(f["expected_fee"]) + " fen",
        ),
        (
            is_fee,
            _O.MATCHED,
            lambda f: "fees of order " + _t(f["order_id"]) + ": " + _t(f["fee_total"])
            + " fen, as the rate gives",
        ),
        (
            no_number,
            _O.MISSING_ORDER,
            lambda f: _t(f["kind"]) + " row without an order number (merchant order no "
            + _t(f["merchant_order_no"]) + ")",
        ),
        (
            ~known & money_kind & _recent(p["at"], p["window"].to_numpy(), tol),
            _O.PENDING,
            lambda f: row(f) + " at " + _at(f["at"]) + ", inside the " + _t(f["window"])
            + "-day window: its order may be in the next export",
        ),
        (~known, _O.MISSING_ORDER, lambda f: row(f) + ", not among the orders"),
        (
            row_fee_off,
            _O.FEE_MISMATCH,
            lambda f: _t(f["provider"]) + " row's own fee is " + _t(f["fee"])
            + " fen; the rate " + rate + " of its " + _t(f["amount"]) + " fen gives "
            + _t(f["row_fee"]) + " fen",
        ),
    ]  # fmt: skip
    outcome, reason = _decide(p, rules, (p["o_outcome"], lambda f: f["o_reason"]))
    live = ~p["dup"].to_numpy() & known
    expected = pd.Series(pd.NA, index=p.index, dtype="Int64")
    expected = expected.mask(live & is_fee, -p["expected_fee"])
    paying = live & (kind == _PAY).to_numpy()
    expected = expected.mask(paying, p["order_amount"].astype("Int64"))
    return pd.DataFrame(
        {
            "outcome": outcome,
            "order_id": p["order_id"],
            "source": "payments",
            "record": p["record"],
            "amount": p["amount"].astype("Int64"),
            "expected": expected.astype("Int64"),
            "reason": reason,
        }
    )


def _movement_rows(m: pd.DataFrame) -> pd.DataFrame:
    """Warehouse lines (with their order's verdict beside): their own rules, else their
    order's outcome and reason."""
    for_orders = m["kind"].isin([_OUT, _RETURN]).to_numpy()
    outbound = (m["kind"] == _OUT).to_numpy()
    known = m["known"].to_numpy()
    no_number = m["order_id"].isna().to_numpy()
    # Of a known order: paid on the platform, nothing in the bills, not pending.
    unbilled = (
        known
        & (m["never_paid"] == False).to_numpy()  # noqa: E712 - NaN (no order) is not False
        & (m["n_pay"] == 0).to_numpy()
        & (m["o_outcome"] != _O.PENDING.value).to_numpy()
    )

    def doc(word: str) -> Say:
        return lambda f: word + " " + _t(f["doc_no"]) + " for order " + _t(f["order_id"])

    rules: list[Rule] = [
        (
            ~for_orders,
            _O.NOT_FOR_ORDERS,
            lambda f: "a " + _t(f["kind"]) + " movement, for no order",
        ),
        (
            outbound & no_number,
            _O.SHIPPED_UNPAID,
            lambda f: "outbound " + _t(f["doc_no"]) + " without an order number",
        ),
        (
            outbound & ~known,
            _O.SHIPPED_UNPAID,
            lambda f: doc("outbound")(f) + ", not among the orders",
        ),
        (
            ~outbound & no_number,
            _O.MISSING_ORDER,
            lambda f: "return " + _t(f["doc_no"]) + " without an order number",
        ),
        (
            ~outbound & ~known,
            _O.MISSING_ORDER,
            lambda f: doc("return")(f) + ", not among the orders",
        ),
        (
            outbound & unbilled,
            _O.SHIPPED_UNPAID,
            lambda f: doc("outbound")(f) + ", which has no payment in the bills",
        ),
    ]
    outcome, reason = _decide(m, rules, (m["o_outcome"], lambda f: f["o_reason"]))
    none = pd.Series(pd.NA, index=m.index, dtype="Int64")
    return pd.DataFrame(
        {
            "outcome": outcome,
            "order_id": m["order_id"],
            "source": "movements",
            "record": m["record"],
            "amount": none,
            "expected": none,
            "reason": reason,
        }
    )
