"""A scenario file's variants: the Variant model, its incumbent block and the override
operations it applies (engine/scenarios/overrides.py checks and plays them), with the
field types they share with the rest of the file.

The file format, variants and every op included, is documented in
engine/scenarios/format.py, which holds the file's other models and re-exports these.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from engine.core.limits import MAX_FACTOR, MAX_PRIORITY, MAX_UNITS
from engine.core.modes import Mode
from engine.core.scope import OneOrMany
from engine.scenarios.spec import IncumbentPolicy, PlannerVelocity
from rules.catalog import Rule, one_of

Id = Annotated[str, StringConstraints(strict=True, min_length=1)]
Day = Annotated[int, Field(strict=True, ge=0)]
# A demand multiplier, bounded as a promotion_uplift rule's factor (engine/core/limits.py).
Factor = Annotated[float, Field(gt=0, le=MAX_FACTOR, allow_inf_nan=False)]
Percent = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]


def yaml_true(value: object) -> object:
    """YAML reads a bare `true` as a boolean; in these fields it names the option "true"."""
    return "true" if value is True else value


Velocity = Annotated[PlannerVelocity, BeforeValidator(yaml_true)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DateWindow(StrictModel):
    """Calendar days, both inclusive (`from` is a Python keyword, hence the alias)."""

    from_: dt.date = Field(alias="from")
    to: dt.date

    @model_validator(mode="after")
    def _ordered(self) -> DateWindow:
        if self.to < self.from_:
            raise ValueError("`to` must not be before `from`")
        return self


class ArrivalSpec(StrictModel):
    sku: Id
    warehouse: Id
    quantity: Annotated[int, Field(strict=True, ge=1, le=MAX_UNITS)]
    day: Day | None = None
    date: dt.date | None = None

    @model_validator(mode="after")
    def _when(self) -> ArrivalSpec:
        one_of(self, "day", "date")
        return self


# --- overrides (applied by engine/scenarios/overrides.py) ------------------------------


class AddRule(StrictModel):
    op: Literal["add_rule"]
    rule: Rule


class RemoveRule(StrictModel):
    op: Literal["remove_rule"]
    id: Id


class ReplaceRule(StrictModel):
    op: Literal["replace_rule"]
    id: Id
    rule: Rule


class StockDelta(StrictModel):
    op: Literal["stock_delta"]
    sku: OneOrMany | None = None
    category: OneOrMany | None = None
    warehouse: OneOrMany | None = None
    brand: OneOrMany | None = None
    delta: Annotated[int, Field(strict=True, ge=-MAX_UNITS, le=MAX_UNITS)] | None = None
    percent: Annotated[float, Field(ge=-100, le=10_000, allow_inf_nan=False)] | None = None

    @model_validator(mode="after")
    def _selected(self) -> StockDelta:
        if all(getattr(self, n) is None for n in ("sku", "category", "warehouse", "brand")):
            raise ValueError("give at least one of sku, category, warehouse, brand")
        one_of(self, "delta", "percent")
        return self


class UpliftDemand(StrictModel):
    op: Literal["uplift"]
    factor: Factor
    shops: OneOrMany | None = None
    categories: OneOrMany | None = None
    skus: OneOrMany | None = None
    days: tuple[Day, Day] | None = None
    dates: DateWindow | None = None
    planned: Annotated[bool, Field(strict=True)] = True

    @model_validator(mode="after")
    def _window(self) -> UpliftDemand:
        one_of(self, "days", "dates")
        if self.days is not None and self.days[1] < self.days[0]:
            raise ValueError("days is [first, last]: last must not be before first")
        return self


class OpenShop(StrictModel):
    op: Literal["open_shop"]
    id: Id
    brand: Id
    platform: Annotated[str, StringConstraints(strict=True, pattern=r"^[a-z]+$")]
    like: Id
    velocity_factor: Factor = 1.0
    priority: Annotated[int, Field(strict=True, ge=0, le=MAX_PRIORITY)] | None = None  # like's


class CloseShop(StrictModel):
    op: Literal["close_shop"]
    shop: Id


class SetMode(StrictModel):
    op: Literal["mode"]
    mode: Mode


class AddArrival(ArrivalSpec):
    op: Literal["arrival"]


Override = Annotated[
    AddRule
    | RemoveRule
    | ReplaceRule
    | StockDelta
    | UpliftDemand
    | OpenShop
    | CloseShop
    | SetMode
    | AddArrival,
    Field(discriminator="op"),
]
OPS = (
    "add_rule",
    "remove_rule",
    "replace_rule",
    "stock_delta",
    "uplift",
    "open_shop",
    "close_shop",
    "mode",
    "arrival",
)


# --- the variant -------------------------------------------------------------------------


class Incumbent(StrictModel):
    shares: dict[str, Percent] = {}  # shop -> percent of the pool
    default_share_pct: Percent = 100.0
    safety_stock: Annotated[int, Field(strict=True, ge=0, le=MAX_UNITS)] = 0

    def policy(self) -> IncumbentPolicy:
        return IncumbentPolicy(dict(self.shares), self.default_share_pct, self.safety_stock)


def _slug(name: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,62}", name):
        raise ValueError("a name is lowercase letters, digits, '-' and '_' (at most 63)")
    return name


class Variant(StrictModel):
    name: Annotated[str, Field(strict=True), AfterValidator(_slug)]
    description: str | None = None
    planner: Literal["omnistock", "incumbent"] = "omnistock"
    incumbent: Incumbent | None = None  # None on an incumbent variant: Incumbent()
    mode: Mode | None = None  # None: the base's mode
    # Where omnistock's velocity comes from: true | naive | estimated (history.py);
    # None: as the file's simulation.demand_knowledge says.
    planner_velocity: Velocity | None = None
    overrides: list[Override] = []


def variant_path(i: int, variant: Variant) -> str:
    return f"variants[{i}] ({variant.name})"
