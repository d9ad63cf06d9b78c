"""The files of two months of brand b1 as a settlement run is given them: the demo's
November (scenarios/demo/settlement/b1/: 20 orders paid in its last hour are held
`pending`) and a small December that pays and ships those 20 on its first day, beside
a few orders of its own."""

from __future__ import annotations

from pathlib import Path

from engine.settlement.samples import alipay_trade_text, movements_text, orders_text

DEMO = Path(__file__).resolve().parents[2] / "scenarios" / "demo" / "settlement" / "b1"
# (role, file name) of the demo month, in the order a run is given them.
DEMO_FILES = (
    ("contract", "contract.yaml"),
    ("orders", "orders.csv"),
    ("payments", "alipay-trade.zip"),
    ("payments", "alipay-account.csv"),
    ("warehouse", "warehouse.csv"),
)
# December's own orders: paid, paid in full, shipped (they match).
DECEMBER_ORDERS = 3
Files = list[tuple[str, str, bytes]]  # role, file name, bytes


def demo_month() -> Files:
    return [(role, name, (DEMO / name).read_bytes()) for role, name in DEMO_FILES]


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _trade(n: int, order_id: str, fen: int) -> dict[str, str]:
    return {
        "支付宝交易号": f"2026120122001{n:012d}",
        "商户订单号": f"T200P{order_id}",
        "业务类型": "交易",
        "创建时间": "2026-12-01 09:00:00",
        "完成时间": "2026-12-01 09:00:00",
        "订单金额（元）": _yuan(fen),
        "商家实收（元）": _yuan(fen),
        "服务费（元）": _yuan(round(fen * 0.006)),
    }


def _outbound(n: int, order_id: str) -> dict[str, str]:
    return {
        "单据编号": f"CK-DEC-{n:04d}",
        "单据类型": "销售出库",
        "业务时间": "2026-12-01 15:00:00",
        "平台订单号": order_id,
        "商家编码": "SKU-1",
        "数量": "1",
    }


def december(pending: list[tuple[str, int]]) -> Files:
    """December's files: a trade and an outbound for each (order id, fen) held pending
    in November, and DECEMBER_ORDERS orders of its own, paid and shipped. The names
    differ from November's, so every record's `file:line` is one record."""
    orders, trades, moves = [], [], []
    for n, (order_id, fen) in enumerate(pending):
        trades.append(_trade(n, order_id, fen))
        moves.append(_outbound(n, order_id))
    for k in range(DECEMBER_ORDERS):
        order_id, fen, n = str(3_200_000_000_000_000 + k), 10_000 + k, 1_000 + k
        orders.append(
            {
                "订单编号": order_id,
                "买家实际支付金额": _yuan(fen),
                "订单状态": "交易成功",
                "订单创建时间": "2026-12-05 10:00:00",
                "订单付款时间": "2026-12-05 10:01:00",
                "宝贝总数量": "1",
                "店铺名称": "旗舰店",
            }
        )
        trades.append(_trade(n, order_id, fen))
        moves.append(_outbound(n, order_id))
    contract = (DEMO / "contract.yaml").read_bytes()
    return [
        ("contract", "contract.yaml", contract),
        ("orders", "orders-2026-12.csv", orders_text(orders).encode("gbk")),
        ("payments", "alipay-trade-2026-12.csv", alipay_trade_text(trades).encode("gbk")),
        ("warehouse", "warehouse-2026-12.csv", movements_text(moves).encode("utf-8")),
    ]
