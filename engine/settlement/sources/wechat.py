"""WeChat Pay merchant trade bills (UTF-8, "`" before every value) -> PAYMENT_SCHEMA.

The rows end at the summary title row (总交易单数...), followed by its totals; a file
without it was cut off. A refund row is its own record, keyed by the WeChat order number
and the merchant refund number.
"""

from __future__ import annotations

import polars as pl

from engine.core.errors import InputError, Issue
from engine.settlement.records import PAYMENT_SCHEMA, PaymentKind, Provider
from engine.settlement.sources.ordermap import OrderMap
from engine.settlement.sources.text import (
    EXPECT_MONEY,
    EXPECT_TIME,
    Doc,
    Header,
    Problems,
    money,
    table,
    timestamp,
)

__all__ = ["HEADER", "read_wechat"]

HEADER = ("交易时间", "微信订单号", "商户订单号", "交易状态")
SUMMARY = "总交易单数"

_USED = [*HEADER, "订单金额", "退款金额", "商户退款单号", "手续费", "商品名称"]


def _summary(doc: Doc, head: Header, source: str) -> int:
    found = doc.last_line_with(SUMMARY, head, starting=True)
    if found is None:
        raise InputError(
            [Issue(source, f"truncated: the summary row ({SUMMARY}...) after the rows is missing")],
            source,
        )
    return found


def read_wechat(doc: Doc, head: Header, source: str, order_map: OrderMap) -> pl.DataFrame:
    end = _summary(doc, head, source)
    raw = table(doc, head, end, source, _USED, backtick=True)
    problems = Problems(source)
    frame = raw.with_columns(
        money("订单金额").alias("amount"),
        money("退款金额").alias("refunded"),
        money("手续费").alias("fee"),
        timestamp("交易时间").alias("at"),
    )
    problems.cells(frame, "微信订单号", "微信订单号", expected="the WeChat order number")
    problems.cells(frame, "交易时间", "at", expected=EXPECT_TIME)
    problems.cells(frame, "订单金额", "amount", expected=EXPECT_MONEY)
    problems.cells(frame, "退款金额", "refunded", expected=EXPECT_MONEY, required=False)
    problems.cells(frame, "手续费", "fee", expected=EXPECT_MONEY, required=False)
    problems.check()
    refund = (pl.col("refunded").fill_null(0) > 0) | (pl.col("交易状态") == "REFUND")
    return frame.select(
        pl.lit(Provider.WECHAT.value).alias("provider"),
        pl.when(refund)
        .then(
            pl.concat_str(pl.col("微信订单号"), pl.lit(":"), pl.col("商户退款单号").fill_null(""))
        )
        .otherwise(pl.col("微信订单号"))
        .alias("record_id"),
        pl.col("商户订单号").alias("merchant_order_no"),
        order_map.order_id(pl.col("商户订单号")).alias("order_id"),
        pl.lit([], dtype=pl.List(pl.String())).alias("order_ids"),  # one order per row
        pl.when(refund)
        .then(pl.lit(PaymentKind.REFUND.value))
        .otherwise(pl.lit(PaymentKind.PAYMENT.value))
        .alias("kind"),
        pl.when(refund)
        .then(-pl.col("refunded").fill_null(0).abs())
        .otherwise(pl.col("amount"))
        .alias("amount"),
        # a refund hands part of the fee back (written negative): kept as a size, >= 0
        pl.col("fee").abs().fill_null(0).alias("fee"),
        "at",
        pl.col("商品名称").alias("note"),
        pl.lit(source).alias("source"),
        "line",
    ).cast(PAYMENT_SCHEMA)  # type: ignore[arg-type]
