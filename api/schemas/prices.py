"""Models of the price routes: the policy, a check's request and its result."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body
from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Document, SchemaOf, Strict
from engine.catalog.prices.policy import Instant, PricePolicy
from engine.core.snapshot import Money

_POLICY_EXAMPLE: dict[str, Any] = {
    "as_of": "2026-11-11T00:00:00+08:00",
    "min_margin": {"default": "0.10", "brands": {"b2": "0.20"}},
    "promotions": [
        {"id": "tm-b1-discount", "shop": "tm-b1", "kind": "item_discount", "rate": "0.90"},
        {
            "id": "tm-b1-coupon",
            "shop": "tm-b1",
            "kind": "shop_coupon",
            "threshold": "199.00",
            "amount": "20.00",
        },
    ],
}
PolicyBody = Annotated[Document, SchemaOf(PricePolicy), Body(examples=[_POLICY_EXAMPLE])]


class ListedPrice(Strict):
    sku: str = Field(min_length=1, max_length=64)
    shop: str = Field(min_length=1, max_length=64)
    price: Money


class PriceCheckRequest(Strict):
    """Run the guard now: at an instant (default: the policy's as_of, else now), over the
    list prices or the prices the shops list (read back from the marketplaces)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "at": "2026-11-11T00:00:00+08:00",
                    "listed": [{"sku": "B1-0002", "shop": "tm-b1", "price": "799.00"}],
                }
            ]
        }
    )

    at: Instant | None = None
    listed: list[ListedPrice] | None = Field(default=None, max_length=5_000_000)


class PolicyOut(BaseModel):
    version: int
    policy: dict[str, Any]


class StepOut(BaseModel):
    promotion: str
    kind: str
    price: str


class BasketOut(BaseModel):
    sku_qty: int
    filler: str | None
    filler_qty: int
    total: str


class BreachOut(BaseModel):
    sku: str
    shop: str
    brand: str
    platform: str
    base: str
    floor: str | None
    lowest: str
    bound: str
    status: str
    steps: list[StepOut]
    basket: BasketOut


class CheckOut(BaseModel):
    id: int
    trigger: str
    at: str
    policy_version: int
    prices: str  # list | listed
    summary: dict[str, int]
    warnings: list[str]
    breaches: list[BreachOut]
