"""Models of the order routes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from api.schemas.common import Strict


class OrderRequest(Strict):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"shop": "tm-b1", "sku": "S1", "quantity": 1}]},
    )
    shop: str = Field(min_length=1)
    sku: str = Field(min_length=1)
    # Strict: a unit count is a JSON integer; true or "1" is a 422, never one unit taken.
    quantity: StrictInt = Field(ge=1)


class OrderOut(BaseModel):
    shop: str
    sku: str
    quantity: int
    remaining: int = Field(description="what the shop can still sell: own units + shared")
    from_shared: int = Field(0, description="units of this order taken from the shared part")
