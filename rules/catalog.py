"""The rule catalog (docs/rules.md): one pydantic model per rule `type`, and the ruleset.

A rule is validated when it is loaded, not when it first runs: unknown fields, values
out of range and contradictory fields are refused with the rule's id and the field.
Dumped with `exclude_unset=True`, a ruleset file round-trips unchanged.

Each rule class declares its kind (which rules it competes with by precedence) and the
fields that name shops, warehouses, SKUs or other rules (`refs`), so that a ruleset is
checked against a snapshot from the classes' own declarations (rules/references.py).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Annotated, ClassVar, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from engine.core.limits import (
    MAX_BUNDLE_QTY,
    MAX_DAYS,
    MAX_FACTOR,
    MAX_MONEY,
    MAX_PRIORITY,
    MAX_UNITS,
    MAX_WEIGHT,
    MONEY_PLACES,
)
from engine.core.scope import Scope

# Every number a rule takes is bounded (engine/core/limits.py says why each bound keeps
# the compile step exact): a rule beyond one is refused on load, naming the field.
Share = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Weight = Annotated[float, Field(ge=0.0, le=MAX_WEIGHT, allow_inf_nan=False)]
Units = Annotated[int, Field(ge=0, le=MAX_UNITS, strict=True)]
PositiveUnits = Annotated[int, Field(gt=0, le=MAX_UNITS)]
Offset = Annotated[int, Field(ge=-MAX_UNITS, le=MAX_UNITS)]
Money = Annotated[
    Decimal, Field(ge=0, le=MAX_MONEY, decimal_places=MONEY_PLACES, allow_inf_nan=False)
]
Days = Annotated[float, Field(gt=0, le=MAX_DAYS, allow_inf_nan=False)]
Factor = Annotated[float, Field(gt=0, le=MAX_FACTOR, allow_inf_nan=False)]
Percent = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]
Priority = Annotated[int, Field(ge=-MAX_PRIORITY, le=MAX_PRIORITY)]


class Kind(enum.StrEnum):
    """Rules of one kind compete by precedence; rules of different kinds combine."""

    COMPOSITION = "composition"
    EXCLUDE = "exclude"
    WAREHOUSE_SCOPE = "warehouse_scope"
    VIRTUAL = "virtual"
    BUNDLE = "bundle"
    SAFETY = "safety"
    ZERO_BELOW = "zero_below"
    EXCLUSIVE_WHEN_LOW = "exclusive_when_low"
    HOLD = "hold"
    LOCK = "lock"
    PREORDER = "preorder"
    SHARE = "share"
    FIXED = "fixed"
    CAP = "cap"
    FLOOR = "floor"
    DELIST = "delist"
    PACK = "pack"
    CAPACITY = "capacity"
    BUDGET = "budget"
    UPLIFT = "uplift"
    WINDOW = "window"
    PEAK = "peak"
    SYNC = "sync"


# What a rule's id field names, and so where the id must exist: a shop, warehouse or SKU
# of the snapshot, or a rule of the ruleset. A `component` is a SKU a bundle is made of
# (neither the bundle itself nor another bundle).
IdKind = Literal["shop", "warehouse", "sku", "component", "rule"]


class RuleBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str | None = None
    scope: Scope = Scope()
    priority: Priority = 0
    active_from: AwareDatetime | None = None
    active_to: AwareDatetime | None = None

    kind: ClassVar[Kind]  # set by every rule class
    # The fields that name ids, in the order they are checked: field -> what it names.
    # A field holds one id, a list of ids or a map keyed by id; `a[].b` is field `b` of
    # each item of the list `a`.
    refs: ClassVar[Mapping[str, IdKind]] = {}
    # Whether the scope may select SKUs (not for limits on a whole shop).
    selects_skus: ClassVar[bool] = True

    @model_validator(mode="after")
    def _window_order(self) -> RuleBase:
        if self.active_from and self.active_to and self.active_to <= self.active_from:
            raise ValueError("active_to must be after active_from")
        return self

    def active_at(self, moment: datetime) -> bool:
        if self.active_from is not None and moment < self.active_from:
            return False
        return not (self.active_to is not None and moment >= self.active_to)


def at_path(model: BaseModel, field: str) -> Iterator[tuple[str, object]]:
    """The value(s) at a field path as `refs` writes them (`a[].b`: field `b` of each
    item of the list `a`), each with its path (`a[0].b`, `a[1].b`, ...)."""
    head, _, rest = field.partition("[].")
    value = getattr(model, head)
    if not rest:
        yield head, value
        return
    for i, item in enumerate(value or []):
        for path, inner in at_path(item, rest):
            yield f"{head}[{i}].{path}", inner


def ids_in(value: object) -> list[str]:
    """The ids a field value names: one id, a list of ids, or the keys of a map."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    assert isinstance(value, list | dict)
    return list(value)


def one_of(model: BaseModel, *names: str) -> None:
    """Exactly one of the named optional fields is given (else a validation error)."""
    given = [n for n in names if getattr(model, n) is not None]
    if len(given) != 1:
        raise ValueError(f"give exactly one of {', '.join(names)}")


# --- Pool and supply ---------------------------------------------------------------


class StockComposition(RuleBase):
    """Which stock buckets count. True = the bucket is applied (subtracted or added)."""

    type: Literal["stock_composition"]
    kind: ClassVar[Kind] = Kind.COMPOSITION
    locked: bool = True
    reserved: bool = True
    pending_review: bool = False
    unpaid: bool = False
    defective: bool = True
    in_transit: bool = False
    purchase_in_transit: bool = False
    transfer_in_transit: bool = False


class ExcludeWarehouse(RuleBase):
    type: Literal["exclude_warehouse"]
    kind: ClassVar[Kind] = Kind.EXCLUDE
    refs: ClassVar[Mapping[str, IdKind]] = {"warehouses": "warehouse"}
    warehouses: list[str] = Field(min_length=1)


class WarehouseScope(RuleBase):
    """Shops (`shops`, or the scope's shops) are supplied only by `warehouses`."""

    type: Literal["warehouse_scope"]
    kind: ClassVar[Kind] = Kind.WAREHOUSE_SCOPE
    refs: ClassVar[Mapping[str, IdKind]] = {"shops": "shop", "warehouses": "warehouse"}
    warehouses: list[str] = Field(min_length=1)
    shops: list[str] | None = None


class VirtualStock(RuleBase):
    """Add `quantity` units (dropship, presale) to each SKU's pool, for `shops` only."""

    type: Literal["virtual_stock"]
    kind: ClassVar[Kind] = Kind.VIRTUAL
    refs: ClassVar[Mapping[str, IdKind]] = {"shops": "shop"}
    quantity: PositiveUnits
    shops: list[str] | None = None


class Component(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    sku: str
    qty: Annotated[int, Field(gt=0, le=MAX_BUNDLE_QTY)]


class Bundle(RuleBase):
    """`sku` is a combo made of `components`; it overrides the snapshot's components."""

    type: Literal["bundle"]
    kind: ClassVar[Kind] = Kind.BUNDLE
    refs: ClassVar[Mapping[str, IdKind]] = {"sku": "sku", "components[].sku": "component"}
    sku: str
    components: list[Component] = Field(min_length=1)


# --- Reserves ----------------------------------------------------------------------


class SafetyStock(RuleBase):
    """Hold back `quantity` units of each SKU; with `shop`, that shop never lists the
    last `quantity` units (the incumbents' per-shop "minus safety stock")."""

    type: Literal["safety_stock"]
    kind: ClassVar[Kind] = Kind.SAFETY
    refs: ClassVar[Mapping[str, IdKind]] = {"shop": "shop"}
    quantity: Units
    shop: str | None = None


class SafetyStockPct(RuleBase):
    type: Literal["safety_stock_pct"]
    kind: ClassVar[Kind] = Kind.SAFETY
    percent: Percent


class SafetyStockDays(RuleBase):
    type: Literal["safety_stock_days"]
    kind: ClassVar[Kind] = Kind.SAFETY
    days: Days


class ZeroBelow(RuleBase):
    type: Literal["zero_below"]
    kind: ClassVar[Kind] = Kind.ZERO_BELOW
    threshold: Units


class ExclusiveWhenLow(RuleBase):
    type: Literal["exclusive_when_low"]
    kind: ClassVar[Kind] = Kind.EXCLUSIVE_WHEN_LOW
    refs: ClassVar[Mapping[str, IdKind]] = {"shop": "shop"}
    threshold: Units
    shop: str


class PromotionHold(RuleBase):
    """Hold `quantity` units or `percent` of the pool for `shop` while the rule is active."""

    type: Literal["promotion_hold"]
    kind: ClassVar[Kind] = Kind.HOLD
    refs: ClassVar[Mapping[str, IdKind]] = {"shop": "shop"}
    shop: str
    quantity: Units | None = None
    percent: Percent | None = None

    @model_validator(mode="after")
    def _amount(self) -> PromotionHold:
        one_of(self, "quantity", "percent")
        return self


class ShopLock(RuleBase):
    """Locked units go to `shop` only; `quantity` defaults to the SKU's locked stock."""

    type: Literal["shop_lock"]
    kind: ClassVar[Kind] = Kind.LOCK
    refs: ClassVar[Mapping[str, IdKind]] = {"shop": "shop"}
    shop: str
    quantity: Units | None = None


class PreorderCap(RuleBase):
    """`shop` lists up to `quantity` presale units per SKU beyond stock; `total` caps the
    presale units over all SKUs in scope (given to the fastest sellers first)."""

    type: Literal["preorder_cap"]
    kind: ClassVar[Kind] = Kind.PREORDER
    refs: ClassVar[Mapping[str, IdKind]] = {"shop": "shop"}
    shop: str
    quantity: PositiveUnits
    total: PositiveUnits | None = None


# --- Shares ------------------------------------------------------------------------

Rounding = Literal["largest_remainder", "floor"]


class Percentage(RuleBase):
    type: Literal["percentage"]
    kind: ClassVar[Kind] = Kind.SHARE
    refs: ClassVar[Mapping[str, IdKind]] = {"shares": "shop"}
    shares: dict[str, Share] = Field(min_length=1)
    rounding: Rounding = "largest_remainder"


class PercentageOffset(RuleBase):
    """Wangdiantong's formula per shop: floor(pool x share + offset)."""

    type: Literal["percentage_offset"]
    kind: ClassVar[Kind] = Kind.SHARE
    refs: ClassVar[Mapping[str, IdKind]] = {"shares": "shop", "offsets": "shop"}
    shares: dict[str, Share] = Field(min_length=1)
    offsets: dict[str, Offset] = {}

    @model_validator(mode="after")
    def _offsets_known(self) -> PercentageOffset:
        extra = sorted(set(self.offsets) - set(self.shares))
        if extra:
            raise ValueError(f"offsets for shops without a share: {', '.join(extra)}")
        return self


class Tier(BaseModel):
    """Applies while the pool is below `threshold`; the last tier may omit it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    threshold: PositiveUnits | None = None
    shares: dict[str, Share] = Field(min_length=1)


class TieredPercentage(RuleBase):
    type: Literal["tiered_percentage"]
    kind: ClassVar[Kind] = Kind.SHARE
    refs: ClassVar[Mapping[str, IdKind]] = {"tiers[].shares": "shop"}
    tiers: list[Tier] = Field(min_length=1)
    rounding: Rounding = "largest_remainder"

    @field_validator("tiers")
    @classmethod
    def _ordered(cls, tiers: list[Tier]) -> list[Tier]:
        levels = [t.threshold for t in tiers]
        if any(level is None for level in levels[:-1]):
            raise ValueError("only the last tier may omit its threshold")
        bounded = [level for level in levels if level is not None]
        if bounded != sorted(set(bounded)):
            raise ValueError("tier thresholds must increase")
        return tiers


class Fixed(RuleBase):
    """Exactly `quantities[shop]` units; hard unless `best_effort`."""

    type: Literal["fixed"]
    kind: ClassVar[Kind] = Kind.FIXED
    refs: ClassVar[Mapping[str, IdKind]] = {"quantities": "shop"}
    quantities: dict[str, Units] = Field(min_length=1)
    best_effort: bool = False


class EqualSplit(RuleBase):
    type: Literal["equal_split"]
    kind: ClassVar[Kind] = Kind.SHARE
    refs: ClassVar[Mapping[str, IdKind]] = {"shops": "shop"}
    shops: list[str] | None = None


class Weighted(RuleBase):
    type: Literal["weighted"]
    kind: ClassVar[Kind] = Kind.SHARE
    refs: ClassVar[Mapping[str, IdKind]] = {"weights": "shop"}
    weights: dict[str, Weight] = Field(min_length=1)

    @field_validator("weights")
    @classmethod
    def _some_weight(cls, weights: dict[str, float]) -> dict[str, float]:
        if not any(w > 0 for w in weights.values()):
            raise ValueError("at least one weight must be above 0")
        return weights


class PriorityFill(RuleBase):
    """Fill `shops` (default: all, by shop priority) in order, each up to its cap."""

    type: Literal["priority_fill"]
    kind: ClassVar[Kind] = Kind.SHARE
    refs: ClassVar[Mapping[str, IdKind]] = {"quantities": "shop", "shops": "shop"}
    shops: list[str] | None = None
    quantities: dict[str, Units] = {}


class SharedPool(RuleBase):
    type: Literal["shared_pool"]
    kind: ClassVar[Kind] = Kind.SHARE
    refs: ClassVar[Mapping[str, IdKind]] = {"shops": "shop"}
    shops: list[str] | None = None


# --- Caps and floors ---------------------------------------------------------------


class _PerShopAmount(RuleBase):
    """`quantities` per shop, or one `quantity` for every shop in scope."""

    refs: ClassVar[Mapping[str, IdKind]] = {"quantities": "shop"}

    quantities: dict[str, Units] | None = None
    quantity: Units | None = None

    @model_validator(mode="after")
    def _amount(self) -> _PerShopAmount:
        one_of(self, "quantities", "quantity")
        return self


class MaxCap(_PerShopAmount):
    type: Literal["max_cap"]
    kind: ClassVar[Kind] = Kind.CAP


class MinFloor(_PerShopAmount):
    type: Literal["min_floor"]
    kind: ClassVar[Kind] = Kind.FLOOR


class MinOrDelist(RuleBase):
    type: Literal["min_or_delist"]
    kind: ClassVar[Kind] = Kind.DELIST
    threshold: PositiveUnits


class PackSize(RuleBase):
    type: Literal["pack_size"]
    kind: ClassVar[Kind] = Kind.PACK
    quantity: PositiveUnits


class ShopCapacity(_PerShopAmount):
    """At most N units in total over all SKUs on a shop."""

    type: Literal["shop_capacity"]
    kind: ClassVar[Kind] = Kind.CAPACITY
    selects_skus: ClassVar[bool] = False


class ValueBudget(RuleBase):
    """At most `budgets[shop]` (money, a decimal string) of stock value on the shop."""

    type: Literal["value_budget"]
    kind: ClassVar[Kind] = Kind.BUDGET
    refs: ClassVar[Mapping[str, IdKind]] = {"budgets": "shop"}
    selects_skus: ClassVar[bool] = False
    budgets: dict[str, Money] = Field(min_length=1)


# --- Velocity ----------------------------------------------------------------------


class VelocityProportional(RuleBase):
    type: Literal["velocity_proportional"]
    kind: ClassVar[Kind] = Kind.SHARE
    refs: ClassVar[Mapping[str, IdKind]] = {"shops": "shop"}
    shops: list[str] | None = None


class DaysOfCoverBalance(RuleBase):
    type: Literal["days_of_cover_balance"]
    kind: ClassVar[Kind] = Kind.SHARE
    refs: ClassVar[Mapping[str, IdKind]] = {"shops": "shop"}
    shops: list[str] | None = None


class CoverTarget(RuleBase):
    type: Literal["cover_target"]
    kind: ClassVar[Kind] = Kind.SHARE
    refs: ClassVar[Mapping[str, IdKind]] = {"shops": "shop"}
    days: Days
    shops: list[str] | None = None


class ExpectedSales(RuleBase):
    """Split each SKU's share base so that its shops sell the most units in expectation
    over `horizon_days` (the time until the next plan), demand per cell Poisson or, where
    the cell is overdispersed, negative binomial (rules/expected.py). Where SKUs compete
    for a shop capacity, value budget, supply group or bundle components, the units that
    stay are those of the most expected units sold, or with `objective: revenue` of the
    most expected revenue (rules/worth.py)."""

    type: Literal["expected_sales"]
    kind: ClassVar[Kind] = Kind.SHARE
    refs: ClassVar[Mapping[str, IdKind]] = {"shops": "shop"}
    horizon_days: Days
    shops: list[str] | None = None
    objective: Literal["units", "revenue"] = "units"


Policy = Literal["shared", "velocity", "equal", "concentrate"]


class VelocityClass(RuleBase):
    """ABC classes by each SKU's share of the scope's velocity (cumulative, fastest
    first): up to `classes.A` is A, up to `classes.B` is B, the rest C."""

    type: Literal["velocity_class"]
    kind: ClassVar[Kind] = Kind.SHARE
    classes: dict[Literal["A", "B"], Share] = {"A": 0.8, "B": 0.95}
    policies: dict[Literal["A", "B", "C"], Policy] = {
        "A": "shared",
        "B": "velocity",
        "C": "concentrate",
    }

    @model_validator(mode="after")
    def _classes(self) -> VelocityClass:
        a, b = self.classes.get("A", 0.8), self.classes.get("B", 0.95)
        if not a <= b:
            raise ValueError("classes.A must not exceed classes.B")
        return self


class NewProduct(RuleBase):
    """SKUs without sales history: `shares` (launch shares) or, if omitted, the
    category's average velocity per shop."""

    type: Literal["new_product"]
    kind: ClassVar[Kind] = Kind.SHARE
    refs: ClassVar[Mapping[str, IdKind]] = {"shares": "shop"}
    shares: dict[str, Share] | None = None


# --- Promotion and modes -----------------------------------------------------------


class PromotionUplift(RuleBase):
    type: Literal["promotion_uplift"]
    kind: ClassVar[Kind] = Kind.UPLIFT
    refs: ClassVar[Mapping[str, IdKind]] = {"shops": "shop"}
    factor: Factor
    shops: list[str] | None = None


class CampaignWindow(RuleBase):
    """Makes the rules named in `rules` active only within this window."""

    type: Literal["campaign_window"]
    kind: ClassVar[Kind] = Kind.WINDOW
    refs: ClassVar[Mapping[str, IdKind]] = {"rules": "rule"}
    rules: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _has_window(self) -> CampaignWindow:
        if self.active_from is None and self.active_to is None:
            raise ValueError("a campaign window needs active_from and/or active_to")
        return self


class PeakMode(RuleBase):
    """Switches the plan to peak mode while active (Double-11)."""

    type: Literal["peak_mode"]
    kind: ClassVar[Kind] = Kind.PEAK


class SyncThreshold(RuleBase):
    """Publish a change only when it moves by >= `threshold` units or crosses a band
    (zero, or any level in `bands`). Decreases are always published: safety first."""

    type: Literal["sync_threshold"]
    kind: ClassVar[Kind] = Kind.SYNC
    threshold: PositiveUnits
    bands: list[PositiveUnits] = []


Rule = Annotated[
    StockComposition
    | ExcludeWarehouse
    | WarehouseScope
    | VirtualStock
    | Bundle
    | SafetyStock
    | SafetyStockPct
    | SafetyStockDays
    | ZeroBelow
    | ExclusiveWhenLow
    | PromotionHold
    | ShopLock
    | PreorderCap
    | Percentage
    | PercentageOffset
    | TieredPercentage
    | Fixed
    | EqualSplit
    | Weighted
    | PriorityFill
    | SharedPool
    | MaxCap
    | MinFloor
    | MinOrDelist
    | PackSize
    | ShopCapacity
    | ValueBudget
    | VelocityProportional
    | DaysOfCoverBalance
    | CoverTarget
    | ExpectedSales
    | VelocityClass
    | NewProduct
    | PromotionUplift
    | CampaignWindow
    | PeakMode
    | SyncThreshold,
    Field(discriminator="type"),
]

RULE_TYPES: dict[str, type[RuleBase]] = {
    cls.model_fields["type"].annotation.__args__[0]: cls  # type: ignore[union-attr]
    for cls in RuleBase.__subclasses__() + _PerShopAmount.__subclasses__()
    if "type" in cls.model_fields
}


class Ruleset(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    rules: list[Rule] = []

    def label(self, index: int) -> str:
        """How errors and plans name a rule: its id, or its position."""
        rule = self.rules[index]
        return rule.id if rule.id is not None else f"rules[{index}]"
