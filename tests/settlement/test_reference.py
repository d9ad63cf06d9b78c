"""The pandas reference against match.py, record for record: on the demo month, on
generated months of several seeds (both through the real readers), and on random small
frames (Hypothesis) that reach the corners the files do not: nulls, unknown orders,
repeats, every kind of row, windows per channel, no contract rate."""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.core.errors import InputError
from engine.settlement import reference
from engine.settlement.bench import PERIOD, tolerance_of
from engine.settlement.benchdata import write_month
from engine.settlement.contract import load_contract
from engine.settlement.match import Tolerance, match
from engine.settlement.records import MOVEMENT_SCHEMA, ORDER_SCHEMA, PAYMENT_SCHEMA, Outcome
from engine.settlement.settle import order_map_of
from engine.settlement.sources import read_settlement_file

DEMO = Path(__file__).resolve().parents[2] / "scenarios" / "demo" / "settlement" / "b1"
COMPARED = ["outcome", "source", "record", "order_id", "amount", "expected"]


def _read(files: dict[str, list[Path]], contract: Path) -> dict[str, pl.DataFrame]:
    order_map = order_map_of(load_contract(contract))
    return {
        kind: pl.concat([read_settlement_file(path, order_map).frame for path in paths])
        for kind, paths in files.items()
    }


def _both(frames: dict[str, pl.DataFrame], tol: Tolerance) -> tuple[list[dict], list[dict]]:
    """Each record's compared columns from match.py and from the reference (run on the
    frames handed over as the benchmark hands them)."""
    ours = match(frames["orders"], frames["payments"], frames["movements"], tol).outcomes
    with tempfile.TemporaryDirectory() as handoff:
        reference.save_frames(frames, Path(handoff))
        loaded = reference.load_frames(Path(handoff))
    theirs = reference.match(loaded["orders"], loaded["payments"], loaded["movements"], tol)
    assert list(theirs.columns) == reference.COLUMNS
    plain = theirs[COMPARED].astype(object).where(theirs[COMPARED].notna(), None)
    return ours.select(COMPARED).to_dicts(), plain.to_dict("records")


def _assert_same(frames: dict[str, pl.DataFrame], tol: Tolerance) -> list[dict]:
    ours, theirs = _both(frames, tol)
    assert len(ours) == len(theirs) == sum(frame.height for frame in frames.values())
    differ = [(a, b) for a, b in zip(ours, theirs, strict=True) if a != b]
    assert not differ, f"{len(differ)} record(s) differ, first: {differ[:3]}"
    return ours


def test_the_demo_month_gets_the_same_outcome_per_record() -> None:
    files = {
        "orders": [DEMO / "orders.csv"],
        "payments": [DEMO / "alipay-trade.zip", DEMO / "alipay-account.csv"],
        "movements": [DEMO / "warehouse.csv"],
    }
    frames = _read(files, DEMO / "contract.yaml")
    rows = _assert_same(frames, tolerance_of(load_contract(DEMO / "contract.yaml"), PERIOD))
    # The demo holds every outcome, so every rule of the precedence was compared.
    assert {row["outcome"] for row in rows} == {o.value for o in Outcome}


@pytest.mark.parametrize("seed", [1, 2, 3, 11])
def test_generated_months_get_the_same_outcome_per_record(tmp_path: Path, seed: int) -> None:
    month = write_month(tmp_path, 3_000, seed)
    frames = _read(month.files, month.contract)
    rows = _assert_same(frames, tolerance_of(load_contract(month.contract), PERIOD))
    assert {row["outcome"] for row in rows} == {o.value for o in Outcome}


def test_a_combined_payment_is_refused_by_the_hand_off(tmp_path: Path) -> None:
    month = write_month(tmp_path, 1_000, 5)
    frames = _read(month.files, month.contract)
    payments = frames["payments"]
    combined = payments.with_columns(
        pl.when(pl.int_range(pl.len()) == 3)
        .then(pl.lit(["1", "2"], dtype=pl.List(pl.String())))
        .otherwise(pl.col("order_ids"))
        .alias("order_ids")
    )
    with pytest.raises(InputError) as error:
        reference.save_frames({**frames, "payments": combined}, tmp_path / "handoff")
    line = payments.row(3, named=True)["line"]
    assert f":{line}" in str(error.value) and "combined payment" in str(error.value)


# Random small frames: a few orders, and rows that name them, others, or nothing.
START, END = datetime(2026, 11, 1), datetime(2026, 12, 1)
_IDS = ["o1", "o2", "o3", "o4", "o5"]
# Early in the month, two days, one day and an hour before its end, its last second.
_TIMES = [START + timedelta(days=3), END - timedelta(days=2), END - timedelta(days=1),
          END - timedelta(hours=1), END - timedelta(seconds=1)]  # fmt: skip
_STATUSES = ["unpaid", "paid", "shipped", "completed", "closed"]

_orders = st.lists(
    st.fixed_dictionaries(
        {
            "status": st.sampled_from(_STATUSES),
            "amount": st.integers(0, 3_000),
            "paid_at": st.sampled_from([None, *_TIMES]),
            "shop": st.sampled_from(["s1", "s2", None]),
        }
    ),
    max_size=len(_IDS),
)
_payments = st.lists(
    st.fixed_dictionaries(
        {
            "provider": st.sampled_from(["alipay_trade", "wechat"]),
            "record_id": st.sampled_from(["r1", "r2", "r3", "r4", None]),
            "order_id": st.sampled_from([*_IDS, "x9", None]),
            "kind": st.sampled_from(["payment", "payment", "refund", "fee", "commission", "other"]),
            "amount": st.integers(-3_000, 3_000),
            "fee": st.sampled_from([0, 0, 3, 6, 18]),
            "at": st.sampled_from(_TIMES),
        }
    ),
    max_size=14,
)
_movements = st.lists(
    st.fixed_dictionaries(
        {
            "kind": st.sampled_from(
                ["outbound", "outbound", "return", "transfer_out", "transfer_in", "purchase_in"]
            ),
            "order_id": st.sampled_from([*_IDS, "x9", None]),
            "quantity": st.integers(1, 3),
        }
    ),
    max_size=10,
)
_tolerances = st.builds(
    Tolerance,
    period_start=st.just(START),
    period_end=st.just(END),
    amount_fen=st.integers(0, 5),
    fee_rate=st.sampled_from([None, Decimal("0.006"), Decimal("0.1")]),
    fee_tolerance_fen=st.integers(0, 3),
    pending_days=st.integers(0, 2),
    pending_by_channel=st.sampled_from([{}, {"s2": 0}, {"s1": 3, "wechat": 2}]),
)


def _frames(
    orders: list[dict[str, Any]], payments: list[dict[str, Any]], movements: list[dict[str, Any]]
) -> dict[str, pl.DataFrame]:
    line = iter(range(2, 1_000))
    order_rows = [
        {**row, "order_id": _IDS[i], "created_at": START, "close_reason": None, "quantity": 1,
         "source": "orders.csv", "line": next(line)}
        for i, row in enumerate(orders)
    ]  # fmt: skip
    pay_rows = [
        {**row, "merchant_order_no": row["order_id"], "order_ids": [], "note": "n",
         "source": "bill.csv", "line": next(line)}
        for row in payments
    ]  # fmt: skip
    move_rows = [
        {**row, "doc_no": f"D{i}", "at": START, "warehouse": "w", "shop": "s1", "sku": "K",
         "logistics_no": None, "source": "wms.csv", "line": next(line)}
        for i, row in enumerate(movements)
    ]  # fmt: skip
    return {
        "orders": pl.DataFrame(order_rows, schema=ORDER_SCHEMA),
        "payments": pl.DataFrame(pay_rows, schema=PAYMENT_SCHEMA),
        "movements": pl.DataFrame(move_rows, schema=MOVEMENT_SCHEMA),
    }


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(orders=_orders, payments=_payments, movements=_movements, tol=_tolerances)
def test_random_frames_get_the_same_outcome_per_record(
    orders: list[dict[str, Any]],
    payments: list[dict[str, Any]],
    movements: list[dict[str, Any]],
    tol: Tolerance,
) -> None:
    _assert_same(_frames(orders, payments, movements), tol)


def test_the_hand_off_keeps_text_that_looks_like_a_missing_value(tmp_path: Path) -> None:
    frames = _frames(
        [{"status": "paid", "amount": 5, "paid_at": START, "shop": "NA"}],
        [{"provider": "wechat", "record_id": "null", "order_id": "o1", "kind": "payment",
          "amount": 5, "fee": 0, "at": START}],
        [],
    )  # fmt: skip
    reference.save_frames(frames, tmp_path)
    loaded = reference.load_frames(tmp_path)
    assert loaded["orders"].loc[0, "shop"] == "NA"
    assert loaded["payments"].loc[0, "record_id"] == "null"
    assert pd.isna(loaded["orders"].loc[0, "close_reason"])
    assert loaded["movements"].empty and list(loaded["movements"].columns) == [
        name for name in MOVEMENT_SCHEMA
    ]
