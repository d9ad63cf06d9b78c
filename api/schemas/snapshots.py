"""Models of the snapshot routes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body
from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Document, SchemaOf, Strict
from engine.core.snapshot import Snapshot, StockRow

_SNAPSHOT_EXAMPLE: dict[str, Any] = {
    "tenant": "demo",
    "as_of": "2026-11-11T00:00:00+08:00",
    "mode": "normal",
    "brands": [{"id": "b1", "name": "Brand"}],
    "warehouses": [{"id": "W1", "kind": "sellable"}],
    "shops": [{"id": "tm-b1", "brand": "b1", "platform": "tmall", "priority": 1}],
    "skus": [{"id": "S1", "brand": "b1", "price": "10.00", "components": []}],
    "stock": [{"sku": "S1", "warehouse": "W1", "on_hand": 10}],
    "velocity": [],
    "listed": [],
}
SnapshotBody = Annotated[Document, SchemaOf(Snapshot), Body(examples=[_SNAPSHOT_EXAMPLE])]


class StockVersion(BaseModel):
    stock_version: int


class StockPatch(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"version": 1, "stock": [{"sku": "S1", "warehouse": "W1", "on_hand": 7}]}]
        },
    )
    version: int  # the stock version the rows apply to
    stock: list[Annotated[Document, SchemaOf(StockRow)]] = Field(min_length=1)
