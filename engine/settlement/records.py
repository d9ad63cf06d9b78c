"""The three sources of a settlement as columns, whatever file each came from.

Every reader (engine/settlement/sources/) turns its file into one of these frames; the
matching (match.py) and the bill (bill.py) read nothing else. Money is in fen as Int64
(exact: 399.00 yuan is 39900), never float. Times are China time without a zone (the
files' own), as polars Datetime("us"). Each row keeps where it came from (`source`: the
file's name, `line`: its 1-based line in the file), so every outcome can name its records.
"""

from __future__ import annotations

from enum import StrEnum

import polars as pl

__all__ = [
    "MOVEMENT_SCHEMA",
    "ORDER_SCHEMA",
    "PAYMENT_SCHEMA",
    "MovementKind",
    "OrderStatus",
    "Outcome",
    "PaymentKind",
    "Provider",
    "empty",
]


class OrderStatus(StrEnum):
    """A platform order's status, from the export's 订单状态."""

    UNPAID = "unpaid"  # 等待买家付款
    PAID = "paid"  # 买家已付款，等待卖家发货
    SHIPPED = "shipped"  # 卖家已发货，等待买家确认
    COMPLETED = "completed"  # 交易成功
    CLOSED = "closed"  # 交易关闭 (with 订单关闭原因: a refund, or never paid)


class Provider(StrEnum):
    ALIPAY_TRADE = "alipay_trade"  # 业务明细
    ALIPAY_ACCOUNT = "alipay_account"  # 账务明细
    WECHAT = "wechat"  # 微信支付交易账单


class PaymentKind(StrEnum):
    PAYMENT = "payment"  # money in for an order
    REFUND = "refund"  # money back to the buyer (negative)
    FEE = "fee"  # the provider's or platform's service fee (negative)
    COMMISSION = "commission"  # an affiliate commission (淘宝客佣金, negative)
    OTHER = "other"  # a row of the bill that is none of these (a transfer, a top-up)


class MovementKind(StrEnum):
    OUTBOUND = "outbound"  # 销售出库: goods out for an order
    RETURN = "return"  # 退货入库: goods back from a buyer
    TRANSFER_OUT = "transfer_out"  # 调拨出库
    TRANSFER_IN = "transfer_in"  # 调拨入库
    PURCHASE_IN = "purchase_in"  # 采购入库


class Outcome(StrEnum):
    """Where every record of every source ends: exactly one of these."""

    MATCHED = "matched"
    MISSING_PAYMENT = "missing_payment"  # paid on the platform, nothing in the bills
    MISSING_ORDER = "missing_order"  # a payment whose order number maps to no order
    AMOUNT_SHORT = "amount_short"
    AMOUNT_OVER = "amount_over"
    NOT_SHIPPED = "not_shipped"  # paid, not refunded, no outbound movement in the period
    SHIPPED_UNPAID = "shipped_unpaid"  # outbound, no payment or a closed order
    STATUS_MISMATCH = "status_mismatch"  # refunded on one side, not on the other
    REFUND_UNRETURNED = "refund_unreturned"  # refund paid, no return inbound
    FEE_MISMATCH = "fee_mismatch"  # the provider's fee is not the contract's rate
    DUPLICATE = "duplicate"  # the same provider record twice
    PENDING = "pending"  # its counterpart may arrive in a later bill: re-checked next run
    NOT_FOR_ORDERS = "not_for_orders"  # a movement or bill row that is no order's


# One row per platform order.
ORDER_SCHEMA: dict[str, pl.DataType] = {
    "order_id": pl.String(),
    "shop": pl.String(),
    "status": pl.String(),  # OrderStatus
    "amount": pl.Int64(),  # 买家实际支付金额, fen
    "created_at": pl.Datetime("us"),
    "paid_at": pl.Datetime("us"),  # null when unpaid
    "close_reason": pl.String(),
    "quantity": pl.Int64(),  # 宝贝总数量
    "source": pl.String(),
    "line": pl.Int64(),
}

# One row per provider record (a trade, a refund, a fee row...).
PAYMENT_SCHEMA: dict[str, pl.DataType] = {
    "provider": pl.String(),  # Provider
    "record_id": pl.String(),  # 支付宝交易号 / 账务流水号 / 微信订单号 (+ refund no)
    "merchant_order_no": pl.String(),  # as the bill writes it
    "order_id": pl.String(),  # the platform order it maps to; null when none does
    # A combined payment (合并付款: one trade for several orders, its 备注 naming them
    # all in one bracket): the orders it pays, with order_id null; else empty.
    "order_ids": pl.List(pl.String()),
    "kind": pl.String(),  # PaymentKind
    "amount": pl.Int64(),  # fen, signed: money in > 0, refunds and fees < 0
    "fee": pl.Int64(),  # the service fee the row itself carries (fen, >= 0), else 0
    "at": pl.Datetime("us"),
    "note": pl.String(),  # 备注 / 商品名称: what the row says it is
    "source": pl.String(),
    "line": pl.Int64(),
}

# One row per warehouse document line.
MOVEMENT_SCHEMA: dict[str, pl.DataType] = {
    "doc_no": pl.String(),
    "kind": pl.String(),  # MovementKind
    "at": pl.Datetime("us"),
    "warehouse": pl.String(),
    "shop": pl.String(),
    "order_id": pl.String(),  # null when the movement is for no order
    "sku": pl.String(),
    "quantity": pl.Int64(),  # > 0
    "logistics_no": pl.String(),
    "source": pl.String(),
    "line": pl.Int64(),
}


def empty(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """A frame of the schema with no rows."""
    return pl.DataFrame(schema=schema)
