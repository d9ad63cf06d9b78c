"""Alipay merchant account bills (账务明细, 12 or 16 columns): every movement of the
account - trades, refunds, fees, commissions - one row each -> PAYMENT_SCHEMA.

Fees and commissions are rows of their own; what a row is comes from its 备注 and
业务类型, and its order from the merchant order number or, failing that, the id the
备注 names in brackets.
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
    footer,
    money,
    table,
    timestamp,
)

__all__ = ["HEADER", "read_alipay_account"]

HEADER = ("账务流水号", "业务流水号", "商户订单号", "收入金额（+元）", "支出金额（-元）")
END = "账务明细列表结束"

_USED = [*HEADER, "商品名称", "发生时间", "业务类型", "备注"]


def _kind(income: pl.Expr) -> pl.Expr:
    said = pl.concat_str(pl.col("备注").fill_null(""), pl.col("业务类型").fill_null(""))
    return (
        pl.when(said.str.contains("售后退款|退款"))
        .then(pl.lit(PaymentKind.REFUND.value))
        .when(said.str.contains("服务费"))
        .then(pl.lit(PaymentKind.FEE.value))
        .when(said.str.contains("淘宝客佣金"))
        .then(pl.lit(PaymentKind.COMMISSION.value))
        .when(pl.col("业务类型").fill_null("").str.contains("交易") & (income > 0))
        .then(pl.lit(PaymentKind.PAYMENT.value))
        .otherwise(pl.lit(PaymentKind.OTHER.value))
    )


def read_alipay_account(doc: Doc, head: Header, source: str, order_map: OrderMap) -> pl.DataFrame:
    end = footer(doc, head, END, "'#...账务明细列表结束' footer", source)
    raw = table(doc, head, end, source, _USED)
    problems = Problems(source)
    frame = raw.with_columns(
        money("收入金额（+元）").alias("income"),
        money("支出金额（-元）").alias("outgo"),
        timestamp("发生时间").alias("at"),
    )
    problems.cells(frame, "账务流水号", "账务流水号", expected="the account entry number")
    problems.cells(frame, "收入金额（+元）", "income", expected=EXPECT_MONEY, required=False)
    problems.cells(frame, "支出金额（-元）", "outgo", expected=EXPECT_MONEY, required=False)
    problems.cells(frame, "发生时间", "at", expected=EXPECT_TIME)
    problems.check()
    income = pl.col("income").fill_null(0)
    # exports write the outgoing column with or without its minus sign: it is money out
    amount = income - pl.col("outgo").fill_null(0).abs()
    combined = order_map.combined(pl.col("备注"))
    order_id = (
        pl.when(combined.list.len() > 0)
        .then(None)
        .otherwise(
            pl.coalesce(
                order_map.order_id(pl.col("商户订单号")), order_map.from_note(pl.col("备注"))
            )
        )
    )
    return frame.select(
        pl.lit(Provider.ALIPAY_ACCOUNT.value).alias("provider"),
        pl.col("账务流水号").alias("record_id"),
        pl.col("商户订单号").alias("merchant_order_no"),
        order_id.alias("order_id"),
        combined.alias("order_ids"),
        _kind(income).alias("kind"),
        amount.alias("amount"),
        pl.lit(0, dtype=pl.Int64).alias("fee"),  # a fee here is a row of its own
        "at",
        pl.coalesce(pl.col("备注"), pl.col("商品名称")).alias("note"),
        pl.lit(source).alias("source"),
        "line",
    ).cast(PAYMENT_SCHEMA)  # type: ignore[arg-type]
