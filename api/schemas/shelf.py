"""Models of the shelf and check routes, request bodies with examples for the OpenAPI page.

Documents (a snapshot, a plan, a ranking or selection input) travel as plain objects
and are parsed by the engine, so every problem in them is reported at once with its
full path, e.g. `body.from_plan.snapshot.listed[3].shop`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.config import JsonDict, JsonValue

from api.schemas.common import Document, SchemaOf, Strict
from engine.checks.findings import CheckThresholds, StockWarning
from engine.core.plan import Plan
from engine.core.snapshot import Snapshot
from engine.shelf.backends import ShelfSolver
from engine.shelf.inputs import ShelfInput, ShelfRules
from engine.shelf.selection import SelectionInput

EXAMPLE_SHELF: JsonDict = {
    "shop": "tm-b1",
    "slots": 3,
    "products": [
        {
            "id": "TOP",
            "velocity": 10,
            "price": "399.00",
            "stock": 30,
            "restockable": False,
            "category": "running",
            "position": 1,
        },
        {
            "id": "P2",
            "velocity": 6,
            "price": "299.00",
            "stock": 500,
            "category": "running",
            "position": 2,
        },
        {
            "id": "BEST",
            "velocity": 9,
            "price": "359.00",
            "stock": 900,
            "category": "running",
            "position": 3,
        },
    ],
    "rules": {"horizon_days": 14, "category_limits": [{"max": 2, "top": 2}]},
}

EXAMPLE_SELECTION: JsonDict = {
    "shop": "jd-b1",
    "listing_limit": 2,
    "listed": ["B1-0001"],
    "candidates": [
        {
            "id": "B1-0002",
            "category": "running",
            "price": "879.00",
            "stock": 120,
            "velocity_elsewhere": {"tm-b1": 4.5},
        }
    ],
}

EXAMPLE_SNAPSHOT: JsonDict = {
    "tenant": "demo",
    "as_of": "2026-11-11T00:00:00+08:00",
    "brands": [{"id": "b1", "name": "Brand One"}],
    "warehouses": [{"id": "wh-sh", "kind": "sellable"}],
    "shops": [{"id": "tm-b1", "brand": "b1", "platform": "tmall", "priority": 1}],
    "skus": [{"id": "B1-0001", "brand": "b1", "category": "shoes", "price": "399.00"}],
    "stock": [{"sku": "B1-0001", "warehouse": "wh-sh", "on_hand": 120}],
    "velocity": [{"sku": "B1-0001", "shop": "tm-b1", "units_per_day": 3.2}],
    "listed": [{"sku": "B1-0001", "shop": "tm-b1", "quantity": 40}],
}


def _one_of(first: str, second: str) -> JsonDict:
    """What the `_one_source` validators below check, in JSON Schema: exactly one of the
    two fields is given (an object; null is as good as absent)."""
    given: list[JsonValue] = [
        {"required": [name], "properties": {name: {"type": "object"}}} for name in (first, second)
    ]
    return {"oneOf": given}


# The documents, each with its engine model's schema (api/schemas/common.py: SchemaOf).
SnapshotDocument = Annotated[Document, SchemaOf(Snapshot)]
PlanDocument = Annotated[Document, SchemaOf(Plan)]


class ShelfFromPlan(Strict):
    snapshot: SnapshotDocument = Field(description="a snapshot (interchange format v1)")
    plan: PlanDocument = Field(description="a plan made from it (`omnistock plan -o`)")
    shop: str
    slots: Annotated[int, Field(ge=1, le=100_000)] = 20
    rules: ShelfRules = ShelfRules()


class RankRequest(Strict):
    """A ranking input as `omnistock rank FILE` reads it, or a snapshot and plan."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"shelf": EXAMPLE_SHELF}], **_one_of("shelf", "from_plan")}
    )

    shelf: Annotated[Document, SchemaOf(ShelfInput)] | None = Field(
        None, description="a ranking input (the rank file format)"
    )
    from_plan: ShelfFromPlan | None = None
    solver: ShelfSolver | None = Field(None, description="force a solver (default: fastest)")

    @model_validator(mode="after")
    def _one_source(self) -> RankRequest:
        if (self.shelf is None) == (self.from_plan is None):
            raise ValueError("give shelf or from_plan, one of them")
        return self


class SelectFromPlan(Strict):
    snapshot: SnapshotDocument
    plan: PlanDocument
    shop: str
    listing_limit: Annotated[int, Field(ge=0)] | None = None
    max_per_category: Annotated[int, Field(ge=1)] | None = None


class SelectRequest(Strict):
    """A selection input as `omnistock select FILE` reads it, or a snapshot and plan."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"selection": EXAMPLE_SELECTION}],
            **_one_of("selection", "from_plan"),
        }
    )

    selection: Annotated[Document, SchemaOf(SelectionInput)] | None = None
    from_plan: SelectFromPlan | None = None

    @model_validator(mode="after")
    def _one_source(self) -> SelectRequest:
        if (self.selection is None) == (self.from_plan is None):
            raise ValueError("give selection or from_plan, one of them")
        return self


class CheckRequest(Strict):
    """A snapshot (its listings may be a platform read-back) and the published plan."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"snapshot": EXAMPLE_SNAPSHOT}]})

    snapshot: SnapshotDocument
    plan: PlanDocument | None = None
    thresholds: CheckThresholds = CheckThresholds()


class CheckResponse(BaseModel):
    counts: dict[str, int]  # warnings per code
    warnings: list[StockWarning]
