"""The pending pool carried from one month's run to the next."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from engine.core.errors import InputError
from engine.settlement import samples
from engine.settlement.carry import CARRY_FILE, Carry, load_carry
from engine.settlement.contract import load_contract
from engine.settlement.settle import Settlement, period_bounds, settle

DEMO = Path(__file__).resolve().parents[2] / "scenarios" / "demo" / "settlement" / "b1"
CONTRACT = load_contract(DEMO / "contract.yaml")


def _november() -> Settlement:
    return settle(
        [DEMO / "orders.csv"],
        [DEMO / "alipay-trade.zip", DEMO / "alipay-account.csv"],
        [DEMO / "warehouse.csv"],
        CONTRACT,
        "2026-11",
    )


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _december(tmp: Path, paid: pl.DataFrame) -> tuple[Path, Path, Path]:
    """December's files: an export of one new order, and the bill rows and outbounds of
    the `paid` orders (November's pending ones) beside the new order's."""
    new = {
        "订单编号": "3200000000000001",
        "买家实际支付金额": "50.00",
        "订单状态": "交易成功",
        "订单创建时间": "2026-12-03 10:00:00",
        "订单付款时间": "2026-12-03 10:01:00",
        "宝贝总数量": "1",
        "店铺名称": "旗舰店",
    }
    payers = [*paid.select("order_id", "amount").iter_rows(), ("3200000000000001", 5000)]
    trades = [
        {
            "支付宝交易号": f"2026120122009{n:012d}",
            "商户订单号": f"T200P{order_id}",
            "业务类型": "交易",
            "完成时间": "2026-12-01 08:00:00",
            "订单金额（元）": _yuan(amount),
        }
        for n, (order_id, amount) in enumerate(payers)
    ]
    moves = [
        {
            "单据编号": f"CK-D{n:04d}",
            "单据类型": "销售出库",
            "业务时间": "2026-12-02 10:00:00",
            "仓库编码": "WH-SH",
            "店铺编码": "S001",
            "平台订单号": order_id,
            "商家编码": "SKU-1",
            "数量": "1",
        }
        for n, (order_id, _) in enumerate(payers)
    ]
    return (
        samples.write(tmp / "orders-12.csv", samples.orders_text([new]), "gbk"),
        samples.write(tmp / "trade-12.csv", samples.alipay_trade_text(trades), "gbk"),
        samples.write(tmp / "wms-12.csv", samples.movements_text(moves), "utf-8"),
    )


def test_a_pending_order_settles_next_month_or_becomes_its_exception(tmp_path: Path) -> None:
    november = _november()
    pool = november.carry
    assert (pool.brand, pool.period) == ("b1", "2026-11")
    pending = november.outcomes.filter(pl.col("outcome") == "pending")
    assert pool.counts["orders"] == pending.filter(pl.col("source") == "orders").height == 20
    # Fifteen of them are paid and shipped in December's files; five never are.
    orders = pool.frames["orders"].sort("order_id")
    found, lost = orders.head(15), orders.tail(5)
    files = _december(tmp_path, found)
    december = settle([files[0]], [files[1]], [files[2]], CONTRACT, "2026-12", carry=pool)
    assert december.carried == {"orders": 20, "payments": 0, "movements": 0}
    out = december.outcomes.filter(pl.col("source") == "orders")
    outcome = dict(out.select("order_id", "outcome").iter_rows())
    assert {outcome[o] for o in found.get_column("order_id")} == {"matched"}
    assert {outcome[o] for o in lost.get_column("order_id")} == {"missing_payment"}
    # A carried record keeps the month, file and line it came from.
    first = found.row(0, named=True)
    refs = out.filter(pl.col("order_id") == first["order_id"]).get_column("record").to_list()
    assert refs == [f"2026-11/orders.csv:{first['line']}"]
    # Settled in December: December's GMV holds them.
    carried_gmv = int(found.get_column("amount").sum())
    assert december.bill.gmv_fen == carried_gmv + 5000
    # Nothing is carried past its window.
    assert sum(december.carry.counts.values()) == 0


def test_a_carried_order_exported_again_takes_the_new_row(tmp_path: Path) -> None:
    pool = _november().carry
    again = pool.frames["orders"].row(0, named=True)
    row = {
        "订单编号": again["order_id"],
        "买家实际支付金额": _yuan(again["amount"]),
        "订单状态": "交易关闭",
        "订单关闭原因": "买家取消",
        "订单创建时间": "2026-11-30 23:00:00",
        "宝贝总数量": "1",
        "店铺名称": "旗舰店",
    }
    orders = samples.write(tmp_path / "o.csv", samples.orders_text([row]), "gbk")
    _, trade, wms = _december(tmp_path, pool.frames["orders"].head(0))
    run = settle([orders], [trade], [wms], CONTRACT, "2026-12", carry=pool)
    assert run.superseded == 1 and run.carried["orders"] == 19
    mine = run.outcomes.filter(pl.col("order_id") == again["order_id"])
    assert mine.get_column("record").to_list() == ["o.csv:2"]


def test_a_pool_of_another_brand_or_a_later_month_is_refused(tmp_path: Path) -> None:
    pool = _november().carry
    files = _december(tmp_path, pool.frames["orders"].head(0))
    other = Carry("b2", "2026-11", pool.frames)
    with pytest.raises(InputError) as error:
        settle([files[0]], [files[1]], [files[2]], CONTRACT, "2026-12", carry=other)
    assert [i.path for i in error.value.issues] == ["carry.brand"]
    with pytest.raises(InputError) as error:
        settle([files[0]], [files[1]], [files[2]], CONTRACT, "2026-11", carry=pool)
    assert [i.path for i in error.value.issues] == ["carry.period"]


def test_the_pool_file_round_trips_byte_for_byte(tmp_path: Path) -> None:
    pool = _november().carry
    data = pool.to_bytes()
    assert data == _november().carry.to_bytes()  # deterministic
    path = pool.write(tmp_path)
    assert path.name == CARRY_FILE
    back = load_carry(tmp_path)  # a run's directory, or the file itself
    assert back.to_bytes() == data and load_carry(path).counts == pool.counts
    for name, frame in pool.frames.items():
        assert back.frames[name].equals(frame)


def test_a_file_that_is_no_pool_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "carry.zip"
    bad.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(InputError) as error:
        load_carry(bad)
    assert error.value.issues[0].path == str(bad)
    with pytest.raises(InputError) as error:
        load_carry(tmp_path / "missing")
    assert "missing" in error.value.issues[0].path


@pytest.mark.parametrize("period", ["0000-01", "9999-12", "2026-13", "2026-1", "26-11"])
def test_a_period_that_is_no_month_is_named(period: str) -> None:
    with pytest.raises(InputError) as error:
        period_bounds(period)
    assert [i.path for i in error.value.issues] == ["period"]
