"""Models of the publishing routes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from api.schemas.common import Strict
from api.schemas.listings import PushOut


class PublishRequest(Strict):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"note": "double-11 morning"}, {"push": True}]}
    )
    note: str | None = None
    push: StrictBool = Field(
        False,
        description="after publishing, push the plan's stock to every brand's shops (a "
        "listing job of kind stock: the answer's `push`)",
    )


class PeakChecks(BaseModel):
    """Peak mode only: the stock check before the publish and after it (read back)."""

    before: list[dict[str, Any]]
    after: list[dict[str, Any]]


class PublishOut(BaseModel):
    plan_id: str
    idempotency_key: str
    stock_version: int
    cells: int
    units: int = Field(description="exclusive units on the cells")
    shared_units: int = Field(0, description="units of the shared parts, each counted once")
    peak_checks: PeakChecks | None = None
    push: PushOut | None = None


class PublishedCell(BaseModel):
    shop: str
    sku: str
    quantity: int = Field(description="the shop's own units left")
    shared: int = Field(
        0, description="the SKU's shared part left, listed on this shop and others alike"
    )
