"""Alipay merchant trade bills (业务明细): one row per trade or refund -> PAYMENT_SCHEMA.

The table sits between '#' lines; amounts of refund rows are negative; the row's own
service fee is in 服务费（元）.
"""

from __future__ import annotations

import polars as pl

from engine.settlement.records import PAYMENT_SCHEMA, PaymentKind, Provider
from engine.settlement.sources.ordermap import OrderMap
from engine.settlement.sources.text import (
    EXPECT_MONEY,
    EXPECT_TIME,
    Doc,
    Header,
    Problems,
    enum,
    footer,
    money,
    table,
    timestamp,
)

__all__ = ["HEADER", "read_alipay_trade"]

HEADER = ("支付宝交易号", "商户订单号", "业务类型", "订单金额（元）")
END = "业务明细列表结束"

KINDS = {"交易": PaymentKind.PAYMENT.value, "退款": PaymentKind.REFUND.value}

_USED = [*HEADER, "商品名称", "完成时间", "退款批次号/请求号", "服务费（元）", "备注"]


def read_alipay_trade(doc: Doc, head: Header, source: str, order_map: OrderMap) -> pl.DataFrame:
    end = footer(doc, head, END, "'#...业务明细列表结束' footer", source)
    raw = table(doc, head, end, source, _USED)
    problems = Problems(source)
    frame = raw.with_columns(
        enum("业务类型", KINDS).alias("kind"),
        money("订单金额（元）").alias("amount"),
        money("服务费（元）").alias("fee"),
        timestamp("完成时间").alias("at"),
    )
    problems.cells(frame, "支付宝交易号", "支付宝交易号", expected="the Alipay trade number")
    problems.cells(frame, "业务类型", "kind", expected="交易 or 退款")
    problems.cells(frame, "订单金额（元）", "amount", expected=EXPECT_MONEY)
    problems.cells(frame, "服务费（元）", "fee", expected=EXPECT_MONEY, required=False)
    problems.cells(frame, "完成时间", "at", expected=EXPECT_TIME)
    problems.check()
    refund = pl.col("kind") == PaymentKind.REFUND.value
    # a trade is refunded in several batches: the batch number keeps each refund distinct
    record = pl.when(refund & pl.col("退款批次号/请求号").is_not_null())
    combined = order_map.combined(pl.col("备注"))
    return frame.select(
        pl.lit(Provider.ALIPAY_TRADE.value).alias("provider"),
        record.then(pl.concat_str(pl.col("支付宝交易号"), pl.lit(":"), pl.col("退款批次号/请求号")))
        .otherwise(pl.col("支付宝交易号"))
        .alias("record_id"),
        pl.col("商户订单号").alias("merchant_order_no"),
        pl.when(combined.list.len() > 0)
        .then(None)
        .otherwise(order_map.order_id(pl.col("商户订单号")))
        .alias("order_id"),
        combined.alias("order_ids"),
        "kind",
        pl.when(refund).then(-pl.col("amount").abs()).otherwise(pl.col("amount")).alias("amount"),
        pl.col("fee").abs().fill_null(0).alias("fee"),
        "at",
        pl.coalesce(pl.col("备注"), pl.col("商品名称")).alias("note"),
        pl.lit(source).alias("source"),
        "line",
    ).cast(PAYMENT_SCHEMA)  # type: ignore[arg-type]
