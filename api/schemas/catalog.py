"""Models of the catalog routes: products, versions, completeness, shops, payloads."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body
from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Document, SchemaOf, Strict
from engine.catalog.model import Product
from engine.catalog.shops import ShopsDocument

PRODUCT_EXAMPLE: dict[str, Any] = {
    "brand": "b1",
    "spu_code": "B1-P00002",
    "title": "Stridewell Running 跑步鞋 2026新款",
    "category": ["鞋靴", "跑步鞋"],
    "year": 2026,
    "season": "春秋",
    "images": ["https://img.example.com/B1-P00002/1.jpg"],
    "attributes": {"材质": "网布", "适用性别": "男"},
    "skus": [
        {"sku_code": "B1-0002", "spec": {"尺码": "42"}, "list_price": "879.00", "cost": "421.18"}
    ],
}
ProductDoc = Annotated[Document, SchemaOf(Product)]


class ProductsBody(Strict):
    """Products to import: each a whole record (a changed one becomes a new version)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"products": [PRODUCT_EXAMPLE]}]})

    products: list[ProductDoc] = Field(
        min_length=1, max_length=20_000, examples=[[PRODUCT_EXAMPLE]]
    )


ShopsBody = Annotated[
    Document,
    SchemaOf(ShopsDocument),
    Body(
        examples=[
            {
                "shops": [
                    {
                        "id": "tm-b1",
                        "brand": "b1",
                        "platform": "tmall",
                        "settings": {"location.state": "上海", "location.city": "上海"},
                    }
                ]
            }
        ]
    ),
]


class RestoreBody(Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [{"version": 1}]})

    version: int = Field(ge=1, le=2**31 - 1, examples=[1])


class PriceCheckRef(BaseModel):
    """The price check an import started (the tenant has a price policy and shops)."""

    id: int
    summary: dict[str, int]


class ImportOut(BaseModel):
    source: str
    products: int
    skus: int
    created: list[str]  # brand/spu
    updated: list[str]
    unchanged: list[str]
    price_check: PriceCheckRef | None = None


class StoredProductOut(BaseModel):
    version: int
    author: str
    at: str
    source: str
    product: Annotated[Document, SchemaOf(Product)]


class ProductPage(BaseModel):
    total: int
    offset: int
    items: list[StoredProductOut]


class VersionOut(BaseModel):
    version: int
    author: str
    at: str
    source: str
    changes: list[str]


class IssueOut(BaseModel):
    field: str
    rule: str
    message: str
    value: str | int | float | bool | None = None


class CompletenessOut(BaseModel):
    brand: str
    spu_code: str
    platform: str
    category_id: str | None
    product_version: int
    schema_version: int | None
    score: float
    ok: bool
    issues: list[IssueOut]


class PlatformSummary(BaseModel):
    platform: str
    products: int
    ready: int
    mean_score: float


class BlockerOut(BaseModel):
    platform: str
    field: str
    rule: str
    products: int
    examples: list[str]  # brand/spu


class CompletenessReport(BaseModel):
    platforms: list[PlatformSummary]
    blockers: list[BlockerOut]


class CompletenessPage(BaseModel):
    total: int
    offset: int
    items: list[CompletenessOut]


class PayloadOut(BaseModel):
    platform: str
    category_id: str | None
    schema_version: int | None
    score: float
    ok: bool
    payload: dict[str, Any]
    issues: list[IssueOut]


class ShopOut(BaseModel):
    id: str
    brand: str
    platform: str
    settings: dict[str, str | int]


class ShopsOut(BaseModel):
    shops: list[ShopOut]


class SchemaOut(BaseModel):
    platform: str
    category_id: str
    name: str
    version: int
    api: str
    matches: list[list[str]]
