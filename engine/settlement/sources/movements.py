"""Warehouse in/out exports (WMS / ERP, UTF-8 or GBK) -> MOVEMENT_SCHEMA."""

from __future__ import annotations

import polars as pl

from engine.settlement.records import MOVEMENT_SCHEMA, MovementKind
from engine.settlement.sources.text import (
    EXPECT_TIME,
    Doc,
    Header,
    Problems,
    enum,
    table,
    timestamp,
    whole,
)

__all__ = ["HEADER", "read_movements"]

HEADER = ("单据编号", "单据类型", "商家编码", "数量")

KINDS = {
    "销售出库": MovementKind.OUTBOUND.value,
    "退货入库": MovementKind.RETURN.value,
    "调拨出库": MovementKind.TRANSFER_OUT.value,
    "调拨入库": MovementKind.TRANSFER_IN.value,
    "采购入库": MovementKind.PURCHASE_IN.value,
}

_USED = [*HEADER, "业务时间", "仓库编码", "店铺编码", "平台订单号", "物流单号"]


def read_movements(doc: Doc, head: Header, source: str) -> pl.DataFrame:
    raw = table(doc, head, None, source, _USED)
    problems = Problems(source)
    frame = raw.with_columns(
        enum("单据类型", KINDS).alias("kind"),
        timestamp("业务时间").alias("at"),
        whole("数量").alias("quantity"),
    )
    problems.cells(frame, "单据编号", "单据编号", expected="the document number")
    problems.cells(frame, "单据类型", "kind", expected="one of " + "/".join(KINDS))
    problems.cells(frame, "业务时间", "at", expected=EXPECT_TIME)
    problems.cells(frame, "商家编码", "商家编码", expected="the SKU code")
    problems.cells(
        frame, "数量", "quantity", expected="a positive whole number", valid=pl.col("quantity") > 0
    )
    problems.check()
    return frame.select(
        pl.col("单据编号").alias("doc_no"),
        "kind",
        "at",
        pl.col("仓库编码").alias("warehouse"),
        pl.col("店铺编码").alias("shop"),
        pl.col("平台订单号").alias("order_id"),  # blank (null): not for an order
        pl.col("商家编码").alias("sku"),
        "quantity",
        pl.col("物流单号").alias("logistics_no"),
        pl.lit(source).alias("source"),
        "line",
    ).cast(MOVEMENT_SCHEMA)  # type: ignore[arg-type]
