"""Taobao / Tmall seller order exports (28 or 37 columns, GBK or UTF-8) -> ORDER_SCHEMA."""

from __future__ import annotations

import polars as pl

from engine.settlement.records import ORDER_SCHEMA, OrderStatus
from engine.settlement.sources.text import (
    EXPECT_MONEY,
    EXPECT_TIME,
    Doc,
    Header,
    Problems,
    enum,
    money,
    table,
    timestamp,
    whole,
)

__all__ = ["HEADER", "read_orders"]

# The columns that tell an order export apart (both the 28 and 37 column forms have them).
HEADER = ("订单编号", "订单状态", "买家实际支付金额")

STATUSES = {
    "等待买家付款": OrderStatus.UNPAID.value,
    "买家已付款，等待卖家发货": OrderStatus.PAID.value,
    "卖家已发货，等待买家确认": OrderStatus.SHIPPED.value,
    "交易成功": OrderStatus.COMPLETED.value,
    "交易关闭": OrderStatus.CLOSED.value,
}

_USED = [*HEADER, "订单创建时间", "订单付款时间", "宝贝总数量", "店铺名称", "订单关闭原因"]


def read_orders(doc: Doc, head: Header, source: str) -> pl.DataFrame:
    raw = table(doc, head, None, source, _USED)
    problems = Problems(source)
    frame = raw.with_columns(
        enum("订单状态", STATUSES).alias("status"),
        money("买家实际支付金额").alias("amount"),
        timestamp("订单创建时间").alias("created_at"),
        timestamp("订单付款时间").alias("paid_at"),
        whole("宝贝总数量").alias("quantity"),
    )
    problems.cells(frame, "订单编号", "订单编号", expected="the order number")
    problems.cells(frame, "订单状态", "status", expected="one of " + "/".join(STATUSES))
    problems.cells(frame, "买家实际支付金额", "amount", expected=EXPECT_MONEY)
    problems.cells(frame, "订单创建时间", "created_at", expected=EXPECT_TIME)
    # an unpaid order has no payment time: blank is fine, a malformed one is not
    problems.cells(frame, "订单付款时间", "paid_at", expected=EXPECT_TIME, required=False)
    problems.cells(frame, "宝贝总数量", "quantity", expected="a whole number of items")
    problems.check()
    return frame.select(
        pl.col("订单编号").alias("order_id"),
        pl.col("店铺名称").alias("shop"),
        "status",
        "amount",
        "created_at",
        "paid_at",
        pl.col("订单关闭原因").alias("close_reason"),
        "quantity",
        pl.lit(source).alias("source"),
        "line",
    ).cast(ORDER_SCHEMA)  # type: ignore[arg-type]
