"""`omnistock settle` on a small month written in the real formats: outcomes for every
record, the re-check, the bill, the four outputs, and the exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import yaml
from typer.testing import CliRunner

from engine.cli.app import app
from engine.settlement.records import Outcome
from engine.settlement.samples import alipay_trade_text, movements_text, orders_text, write

PAID, DONE = "买家已付款，等待卖家发货", "交易成功"


def _month(tmp_path: Path) -> dict[str, Path]:
    orders = [
        # Paid, paid in full, shipped: matched.
        {"订单编号": "1001", "买家实际支付金额": "100.00", "订单状态": DONE,
         "订单创建时间": "2026-11-03 10:00:00", "订单付款时间": "2026-11-03 10:01:00",
         "宝贝总数量": "1", "店铺名称": "旗舰店"},
        # Paid on the platform, no payment in the bill: missing_payment.
        {"订单编号": "1002", "买家实际支付金额": "50.00", "订单状态": PAID,
         "订单创建时间": "2026-11-05 10:00:00", "订单付款时间": "2026-11-05 10:01:00",
         "宝贝总数量": "1", "店铺名称": "旗舰店"},
        # Paid 80 of 90: amount_short.
        {"订单编号": "1003", "买家实际支付金额": "90.00", "订单状态": DONE,
         "订单创建时间": "2026-11-06 10:00:00", "订单付款时间": "2026-11-06 10:01:00",
         "宝贝总数量": "1", "店铺名称": "专营店"},
    ]  # fmt: skip
    trades = [
        {"支付宝交易号": "A1", "商户订单号": "T200P1001", "业务类型": "交易",
         "完成时间": "2026-11-03 10:01:00", "订单金额（元）": "100.00", "服务费（元）": "0.60"},
        {"支付宝交易号": "A3", "商户订单号": "T200P1003", "业务类型": "交易",
         "完成时间": "2026-11-06 10:01:00", "订单金额（元）": "80.00", "服务费（元）": "0.48"},
        # A payment for an order the export does not have: missing_order.
        {"支付宝交易号": "A9", "商户订单号": "T200P9999", "业务类型": "交易",
         "完成时间": "2026-11-07 10:01:00", "订单金额（元）": "10.00", "服务费（元）": "0.06"},
        # The same record twice: duplicate.
        {"支付宝交易号": "A1", "商户订单号": "T200P1001", "业务类型": "交易",
         "完成时间": "2026-11-03 10:01:00", "订单金额（元）": "100.00", "服务费（元）": "0.60"},
    ]  # fmt: skip
    moves = [
        {"单据编号": "D1", "单据类型": "销售出库", "业务时间": "2026-11-03 18:00:00",
         "平台订单号": "1001", "商家编码": "SKU-1", "数量": "1"},
        {"单据编号": "D3", "单据类型": "销售出库", "业务时间": "2026-11-06 18:00:00",
         "平台订单号": "1003", "商家编码": "SKU-2", "数量": "1"},
        {"单据编号": "D7", "单据类型": "调拨出库", "业务时间": "2026-11-08 18:00:00",
         "平台订单号": "", "商家编码": "SKU-2", "数量": "5"},
    ]  # fmt: skip
    contract = {
        "brand": "b1",
        "method": {"kind": "percent", "rate": "0.05"},
        "minimum_fee": "1.00",
        "tolerances": {"amount": "0.01", "fee_rate": "0.006", "fee": "0.01", "pending_days": 1},
    }
    files = {
        # Names that do not say what the files are: content decides.
        "orders": write(tmp_path / "export-a.csv", orders_text(orders), "gbk"),
        "payments": write(tmp_path / "export-b.csv", alipay_trade_text(trades), "gbk"),
        "warehouse": write(tmp_path / "export-c.csv", movements_text(moves), "utf-8"),
        "contract": tmp_path / "contract.yaml",
    }
    files["contract"].write_text(yaml.safe_dump(contract), encoding="utf-8")
    return files


def _settle(files: dict[str, Path], out: Path, *extra: str) -> tuple[int, str, str]:
    args = ["settle", "--contract", str(files["contract"]), "--period", "2026-11"]
    for option in ("orders", "payments", "warehouse"):
        args += [f"--{option}", str(files[option])]
    result = CliRunner().invoke(app, [*args, "--out", str(out), *extra])
    return result.exit_code, result.stdout, result.stderr


def test_a_month_settles_into_outcomes_and_a_bill(tmp_path: Path) -> None:
    files = _month(tmp_path)
    code, out, err = _settle(files, tmp_path / "out", "--json")
    assert code == 0, out + err
    summary = json.loads(out)
    counts = summary["outcomes"]
    assert set(counts) == {o.value for o in Outcome}  # every outcome named, 0 when none
    # 3 orders + 4 payment rows + 3 movements: 10 records, one outcome each.
    assert sum(counts.values()) == 10
    assert counts["duplicate"] == 1 and counts["missing_order"] == 1
    assert counts["missing_payment"] == 1 and counts["not_for_orders"] == 1
    assert counts["amount_short"] >= 2  # the order and its payment row
    assert summary["control"]["orders"]["records"] == 3
    assert summary["control"]["payments"]["records"] == 4
    bill = summary["bill"]
    # Only order 1001 matched: GMV 100.00, fee 5% = 5.00 (above the 1.00 minimum).
    assert (bill["brand"], bill["period"], bill["gmv"], bill["fee"]) == (
        "b1",
        "2026-11",
        "100.00",
        "5.00",
    )
    assert bill["held"] == 2  # 1002 and 1003
    for name in ("outcomes.csv", "bill.json", "bill.xlsx", "summary.json"):
        assert (tmp_path / "out" / name).is_file()
    # The same inputs: the same bill and summary, byte for byte.
    again = tmp_path / "again"
    assert _settle(files, again)[0] == 0
    for name in ("bill.json", "summary.json", "outcomes.csv"):
        assert (again / name).read_bytes() == (tmp_path / "out" / name).read_bytes()


def test_a_file_given_as_the_wrong_source_or_bad_input_is_exit_2(tmp_path: Path) -> None:
    files = _month(tmp_path)
    swapped = {**files, "orders": files["payments"], "payments": files["orders"]}
    code, out, err = _settle(swapped, tmp_path / "out")
    assert code == 2 and "given as a platform order export" in out + err
    bad = tmp_path / "bad.csv"
    # An amount with a currency sign (the full-width one GBK has).
    text = files["orders"].read_text(encoding="gbk").replace("100.00", "￥100")
    bad.write_text(text, encoding="gbk")
    code, out, err = _settle({**files, "orders": bad}, tmp_path / "out")
    assert code == 2 and "bad.csv:2" in out + err and "Traceback" not in out + err
    code, out, err = _settle(files, tmp_path / "out", "--period", "2026-13")
    assert code == 2 and "period" in out + err


@pytest.mark.parametrize(
    ("brand", "bills"),
    [
        ("b1", ["alipay-trade.zip", "alipay-account.csv"]),
        ("b2", ["wechat.csv"]),
        ("b3", ["alipay-trade.zip", "alipay-account.csv"]),
    ],
)
def test_each_demo_month_settles_with_every_outcome_present(
    tmp_path: Path, brand: str, bills: list[str]
) -> None:
    demo = Path(__file__).resolve().parents[2] / "scenarios" / "demo" / "settlement" / brand
    files = {
        "contract": demo / "contract.yaml",
        "orders": demo / "orders.csv",
        "payments": demo / bills[0],
        "warehouse": demo / "warehouse.csv",
    }
    more = [arg for bill in bills[1:] for arg in ("--payments", str(demo / bill))]
    code, out, err = _settle(files, tmp_path / "out", *more, "--json")
    assert code == 0, out + err
    summary = json.loads(out)
    assert summary["bill"]["brand"] == brand
    assert all(summary["outcomes"][o.value] > 0 for o in Outcome), summary["outcomes"]
    reasons = pl.read_csv(tmp_path / "out" / "outcomes.csv").get_column("reason")
    if brand == "b2":  # WeChat's fee is on the row: the wrong ones are those rows
        assert reasons.str.contains("wechat row's own service fee").sum() == 20
    if brand == "b3":  # combined payments, each split over its two orders
        assert reasons.str.contains("combined payment row for orders").sum() > 0


def test_overlapping_bills_count_each_record_once_and_say_so(tmp_path: Path) -> None:
    demo = Path(__file__).resolve().parents[2] / "scenarios" / "demo" / "settlement" / "b1"
    copy = tmp_path / "again.zip"
    copy.write_bytes((demo / "alipay-trade.zip").read_bytes())
    files = {
        "contract": demo / "contract.yaml",
        "orders": demo / "orders.csv",
        "payments": demo / "alipay-trade.zip",
        "warehouse": demo / "warehouse.csv",
    }
    code, once, err = _settle(files, tmp_path / "once", "--json")
    assert code == 0, err
    code, twice, err = _settle(files, tmp_path / "twice", "--payments", str(copy), "--json")
    assert code == 0, err
    first, second = json.loads(once), json.loads(twice)
    assert second["bill"] == first["bill"]  # the overlap changes no figure of the bill
    rows = second["control"]["payments"]["records"] - first["control"]["payments"]["records"]
    assert second["outcomes"]["duplicate"] - first["outcomes"]["duplicate"] == rows > 0
    outcomes = pl.read_csv(tmp_path / "twice" / "outcomes.csv", infer_schema=False)
    repeats = outcomes.filter(pl.col("record").str.starts_with("again.zip"))
    assert set(repeats.get_column("outcome")) == {"duplicate"}
    assert repeats.get_column("reason").str.contains("repeats alipay-trade.zip/").all()
