"""A month of settlement files for each demo brand, in the real formats, with every
outcome of the matching present: `omnistock demo` writes them under
`settlement/<brand>/`, and `omnistock settle` reads them (the command is in the README).

Most orders are plain (paid, paid in full, shipped); every `_EVERY`-th order is bent one
way, in turn, so that each outcome appears a number of times: no payment, short or over,
a closed order with no refund, a full refund with the goods never back, paid but not
shipped, the bill row twice, a wrong service fee, an order paid in the last hour of the
month (its bill comes tomorrow). Beside them: a payment for an order the export does not
have, a shipment for one, and a stock transfer. b1 and b3 are paid through Alipay (the
trade bill as a zip, fees in the account bill), b2 through WeChat Pay (the fee on each
row); b3's buyers sometimes pay two orders at once. Deterministic: the same seed writes
the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from engine.settlement.samples import (
    alipay_account_text,
    alipay_trade_text,
    alipay_zip,
    movements_text,
    orders_text,
    wechat_text,
    write,
)

__all__ = ["BRANDS", "PERIOD", "write_settlement_demo"]

PERIOD = "2026-11"
ORDERS = 2_000
_EVERY = 10  # one order in ten is bent
_FEE_RATE = 0.006
Row = dict[str, str]


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _at(day: int, seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"2026-11-{day:02d} {hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


@dataclass(frozen=True)
class _Brand:
    """One demo brand's month: its shops on the order export, its first order id, how
    its buyers pay (Alipay, or WeChat Pay from a mini-program shop) and its contract."""

    brand: str
    shops: tuple[str, str]
    first_order: int
    provider: str  # "alipay" | "wechat"
    method: dict[str, Any]
    minimum_fee: str | None
    combined: bool = False  # some buyers pay two orders at once (合并付款)


BRANDS = (
    _Brand(
        "b1",
        ("旗舰店", "专营店"),
        3_100_000_000_000_000,
        "alipay",
        {"kind": "percent", "rate": "0.05"},
        "3000.00",
    ),
    _Brand(
        "b2",
        ("Lumina美妆旗舰店", "Lumina小程序商城"),
        3_200_000_000_000_000,
        "wechat",
        {
            "kind": "tiered",
            "mode": "marginal",
            "bands": [{"upto": "300000.00", "rate": "0.06"}, {"upto": None, "rate": "0.04"}],
        },
        None,
    ),
    _Brand(
        "b3",
        ("Nestory家居旗舰店", "Nestory专卖店"),
        3_300_000_000_000_000,
        "alipay",
        {"kind": "fixed_plus_percent", "fixed": "8000.00", "rate": "0.03"},
        "10000.00",
        combined=True,
    ),
)


def write_settlement_demo(directory: Path, seed: int = 0) -> list[Path]:
    """Write each demo brand's month into `directory`/settlement/<brand>: orders.csv
    (GBK), its payment bills (the Alipay trade bill as a zip and the account bill's fee
    rows, or a WeChat Pay bill), warehouse.csv and contract.yaml."""
    paths: list[Path] = []
    for n, brand in enumerate(BRANDS):
        paths += _write_brand(directory / "settlement" / brand.brand, brand, seed + n)
    return paths


def _write_brand(out: Path, brand: _Brand, seed: int) -> list[Path]:
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    orders: list[Row] = []
    trades: list[Row] = []
    fees: list[Row] = []
    moves: list[Row] = []
    bends = (*_BENDS, _combined) if brand.combined else _BENDS
    for i in range(ORDERS):
        order_id = str(brand.first_order + i)
        amount = int(rng.integers(1_990, 99_900))
        day = int(rng.integers(1, 30))
        second = int(rng.integers(0, 86_000))
        bend = bends[(i // _EVERY) % len(bends)] if i % _EVERY == 0 else _plain
        bend(
            _Case(order_id, amount, day, second, brand.shops[i % 2], i),
            orders,
            trades,
            fees,
            moves,
        )
    # Records of no order of the export.
    ghost = str(brand.first_order + 999_999_999_999_999)
    trades.append(_trade("2026110922001" + "9" * 12, f"T200P{ghost}", 1_500, 9, 100))
    moves.append(_move("CK-GHOST", "销售出库", 9, str(int(ghost) - 1), "SKU-9"))
    moves.append(_move("DB-0001", "调拨出库", 10, "", "SKU-1"))
    contract = {
        "brand": brand.brand,
        "method": brand.method,
        "deductions": {"returns": True},
        **({"minimum_fee": brand.minimum_fee} if brand.minimum_fee else {}),
        "tolerances": {"amount": "0.01", "fee_rate": "0.006", "fee": "0.01", "pending_days": 1},
        "order_map": {"prefixes": ["T200P"]},
    }
    paths = [write(out / "orders.csv", orders_text(orders), "gbk")]
    if brand.provider == "wechat":
        paths.append(write(out / "wechat.csv", wechat_text(_wechat_rows(trades, fees)), "utf-8"))
    else:
        detail = alipay_trade_text(trades)
        paths.append(alipay_zip(out / "alipay-trade.zip", "20881234_业务明细.csv", detail))
        paths.append(write(out / "alipay-account.csv", alipay_account_text(fees), "gbk"))
    paths.append(write(out / "warehouse.csv", movements_text(moves), "utf-8"))
    text = yaml.safe_dump(contract, allow_unicode=True, sort_keys=False)
    (out / "contract.yaml").write_text(text, encoding="utf-8")
    return [*paths, out / "contract.yaml"]


def _wechat_rows(trades: list[Row], fees: list[Row]) -> list[Row]:
    """The Alipay trade rows as a WeChat Pay bill: WeChat writes the fee on the row
    itself, so a fee row of the account bill becomes that row's 手续费."""
    fee_of = {row["商户订单号"]: row["支出金额（-元）"] for row in fees}
    rows = []
    for trade in trades:
        refund = trade["业务类型"] == "退款"
        amount = trade["订单金额（元）"].lstrip("-")
        rows.append(
            {
                "交易时间": trade["完成时间"],
                "微信订单号": "42000" + trade["支付宝交易号"][-17:],
                "商户订单号": trade["商户订单号"],
                "交易类型": "JSAPI",
                "交易状态": "REFUND" if refund else "SUCCESS",
                "货币种类": "CNY",
                "应结订单金额": amount,
                "订单金额": amount,
                "退款金额": amount if refund else "0.00",
                "商户退款单号": trade.get("退款批次号/请求号", ""),
                "退款状态": "SUCCESS" if refund else "",
                "手续费": "0.00"
                if refund
                else fee_of.get(trade["商户订单号"], trade["服务费（元）"]),
                "费率": "0.60%",
                "商品名称": "示例商品",
            }
        )
    return rows


class _Case:
    def __init__(self, order_id: str, amount: int, day: int, second: int, shop: str, n: int):
        self.order_id, self.amount, self.day, self.second = order_id, amount, day, second
        self.shop, self.n = shop, n

    def order(self, status: str = "交易成功", **extra: str) -> Row:
        return {
            "订单编号": self.order_id,
            "买家实际支付金额": _yuan(self.amount),
            "订单状态": status,
            "订单创建时间": _at(self.day, self.second),
            "订单付款时间": _at(self.day, self.second + 60),
            "宝贝总数量": "1",
            "店铺名称": self.shop,
            **extra,
        }

    def trade(self, amount: int | None = None) -> Row:
        return _trade(
            f"2026110{self.day % 10}22001{self.n:012d}",
            f"T200P{self.order_id}",
            self.amount if amount is None else amount,
            self.day,
            self.second + 60,
        )

    def ship(self) -> Row:
        return _move(f"CK-{self.n:06d}", "销售出库", self.day, self.order_id, f"SKU-{self.n % 50}")


def _trade(trade_id: str, merchant_no: str, fen: int, day: int, second: int) -> Row:
    return {
        "支付宝交易号": trade_id,
        "商户订单号": merchant_no,
        "业务类型": "交易",
        "创建时间": _at(day, second),
        "完成时间": _at(day, second),
        "订单金额（元）": _yuan(fen),
        "商家实收（元）": _yuan(fen),
        "服务费（元）": _yuan(round(fen * _FEE_RATE)),
    }


def _refund(case: _Case) -> Row:
    row = case.trade(-case.amount)
    row.update({"业务类型": "退款", "退款批次号/请求号": f"R{case.n:08d}"})
    row["订单金额（元）"] = "-" + _yuan(case.amount)
    row["商家实收（元）"] = "-" + _yuan(case.amount)
    row["服务费（元）"] = "0.00"
    return row


def _move(doc: str, kind: str, day: int, order_id: str, sku: str) -> Row:
    return {
        "单据编号": doc,
        "单据类型": kind,
        "业务时间": _at(min(day + 1, 30), 36_000),
        "仓库编码": "WH-SH",
        "店铺编码": "S001",
        "平台订单号": order_id,
        "商家编码": sku,
        "数量": "1",
    }


def _fee_row(case: _Case, fen: int) -> Row:
    return {
        "账务流水号": f"F{case.n:012d}",
        "业务流水号": f"2026110{case.day % 10}22001{case.n:012d}",
        "商户订单号": f"T200P{case.order_id}",
        "发生时间": _at(case.day, case.second + 120),
        "支出金额（-元）": _yuan(fen),
        "收入金额（+元）": "0.00",
        "业务类型": "交易服务费",
        "备注": "信用卡支付服务费",
    }


Lists = tuple[list[Row], list[Row], list[Row], list[Row]]


def _plain(
    case: _Case, orders: list[Row], trades: list[Row], fees: list[Row], moves: list[Row]
) -> None:
    orders.append(case.order())
    trades.append(case.trade())
    moves.append(case.ship())


def _no_payment(
    case: _Case, orders: list[Row], trades: list[Row], fees: list[Row], moves: list[Row]
) -> None:
    orders.append(case.order())
    moves.append(case.ship())


def _short(
    case: _Case, orders: list[Row], trades: list[Row], fees: list[Row], moves: list[Row]
) -> None:
    orders.append(case.order())
    trades.append(case.trade(case.amount - 500))
    moves.append(case.ship())


def _over(
    case: _Case, orders: list[Row], trades: list[Row], fees: list[Row], moves: list[Row]
) -> None:
    orders.append(case.order())
    trades.append(case.trade(case.amount + 300))
    moves.append(case.ship())


def _closed_unrefunded(
    case: _Case, orders: list[Row], trades: list[Row], fees: list[Row], moves: list[Row]
) -> None:
    orders.append(case.order("交易关闭", 订单关闭原因="买家申请退款"))
    trades.append(case.trade())


def _refund_unreturned(
    case: _Case, orders: list[Row], trades: list[Row], fees: list[Row], moves: list[Row]
) -> None:
    orders.append(case.order("交易关闭", 订单关闭原因="退款成功"))
    trades.append(case.trade())
    trades.append(_refund(case))
    moves.append(case.ship())


def _not_shipped(
    case: _Case, orders: list[Row], trades: list[Row], fees: list[Row], moves: list[Row]
) -> None:
    orders.append(case.order("买家已付款，等待卖家发货"))
    trades.append(case.trade())


def _twice(
    case: _Case, orders: list[Row], trades: list[Row], fees: list[Row], moves: list[Row]
) -> None:
    _plain(case, orders, trades, fees, moves)
    trades.append(case.trade())


def _wrong_fee(
    case: _Case, orders: list[Row], trades: list[Row], fees: list[Row], moves: list[Row]
) -> None:
    _plain(case, orders, trades, fees, moves)
    fees.append(_fee_row(case, round(case.amount * _FEE_RATE) + 200))


def _right_fee(
    case: _Case, orders: list[Row], trades: list[Row], fees: list[Row], moves: list[Row]
) -> None:
    _plain(case, orders, trades, fees, moves)
    fees.append(_fee_row(case, round(case.amount * _FEE_RATE)))


def _last_hour(
    case: _Case, orders: list[Row], trades: list[Row], fees: list[Row], moves: list[Row]
) -> None:
    late = _Case(case.order_id, case.amount, 30, 84_000, case.shop, case.n)
    orders.append(late.order("买家已付款，等待卖家发货"))


def _combined(
    case: _Case, orders: list[Row], trades: list[Row], fees: list[Row], moves: list[Row]
) -> None:
    """Two orders of one buyer paid by one trade, its 备注 naming both."""
    sibling = _Case(str(int(case.order_id) + 500_000_000_000), case.amount // 2 + 990,
                    case.day, case.second, case.shop, case.n + 500_000)  # fmt: skip
    orders += [case.order(), sibling.order()]
    row = case.trade(case.amount + sibling.amount)
    row["商户订单号"] = f"M{case.n:010d}"  # the batch's own number, no order's
    row["备注"] = f"合并付款{{T200P{case.order_id},T200P{sibling.order_id}}}"
    trades.append(row)
    moves += [case.ship(), sibling.ship()]


Bend = Callable[[_Case, list[Row], list[Row], list[Row], list[Row]], Any]
_BENDS: tuple[Bend, ...] = (
    _no_payment,
    _short,
    _over,
    _closed_unrefunded,
    _refund_unreturned,
    _not_shipped,
    _twice,
    _wrong_fee,
    _right_fee,
    _last_hour,
)
