"""The shelf-ranking input: one shop's slots, its candidate products and the rules.

Read from YAML/JSON (`omnistock rank FILE`) or built from a snapshot and a plan
(engine/shelf/from_plan.py). Unknown fields are an error; cross-field problems (a pin
on an unknown product, stock given twice) are reported all at once, each naming the
product or rule at fault, as the snapshot's are.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from engine.core.errors import InputError, Issue
from engine.core.io import parse_document
from engine.core.limits import MAX_DAYS, MAX_UNITS, MAX_WEIGHT
from engine.core.snapshot import Id, Money, Velocity

# Bounded like the snapshot's numbers (engine/core/limits.py): the slot values multiply
# price, velocity, weight and days, which stay finite and ordered within the bounds.
Days = Annotated[float, Field(ge=0, le=MAX_DAYS, allow_inf_nan=False)]
MAX_SLOTS = 100_000
Slot = Annotated[int, Field(ge=1, le=MAX_SLOTS)]


class Strict(BaseModel):
    # Strict: "3" is not a number of days and "yes" is not a boolean.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Product(Strict):
    """A candidate for the shelf. `velocity` is units per day at full exposure (a slot
    of weight 1.0, the top slot by default); a slot of weight w sells w x velocity."""

    id: Id
    velocity: Velocity
    price: Money
    margin: Money | None = None
    stock: Annotated[int, Field(ge=0, le=MAX_UNITS)] | None = None
    days_of_cover: Days | None = None
    restockable: bool = True
    restock_days: Days | None = None
    category: str = ""
    new: bool = False
    position: Slot | None = None  # the slot it holds now; None: not on the shelf

    @property
    def units(self) -> float:
        """Allocated stock, from `stock` or from `days_of_cover` x velocity."""
        if self.stock is not None:
            return float(self.stock)
        return (self.days_of_cover or 0.0) * self.velocity

    @property
    def cover(self) -> float:
        """Days the stock lasts at full exposure; a product that does not sell never
        runs out."""
        if self.days_of_cover is not None:
            return self.days_of_cover
        return self.units / self.velocity if self.velocity > 0 else float("inf")


class CategoryLimit(Strict):
    """At most `max` products of `category` (of each category when omitted) in the
    top `top` slots."""

    category: str | None = None
    max: Annotated[int, Field(ge=0, le=MAX_SLOTS)]
    top: Slot


class MinCover(Strict):
    """Every product in the top `top` slots has at least `days` of cover."""

    days: Days
    top: Slot


class ShelfRules(Strict):
    # At least an hour: over a shorter one every slot is worth next to nothing, values
    # below what the MIP solver tells from zero.
    horizon_days: Annotated[float, Field(ge=1 / 24, le=MAX_DAYS, allow_inf_nan=False)] = 14.0
    # Value of a sale lost to an empty listing, as a share of the sale's own value:
    # the buyer who clicks a sold-out product in a top slot is disappointed.
    stockout_penalty: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)] = 0.5
    restock_days: Days = 7.0  # lead time of restockable products that give none
    value: Literal["sales", "margin"] = "sales"
    new_boost: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)] = 1.0
    pins: dict[str, Slot] = {}
    category_limits: list[CategoryLimit] = []
    min_cover: MinCover | None = None


class ShelfInput(Strict):
    shop: Id
    slots: Slot
    # Click-through by slot, highest first; default 1 / log2(slot + 1) (1, 0.63, 0.5, ...).
    weights: list[Annotated[float, Field(gt=0, le=MAX_WEIGHT, allow_inf_nan=False)]] | None = None
    decay: Annotated[float, Field(gt=0, le=1)] | None = None  # weight of slot s: decay**(s-1)
    products: list[Product]
    rules: ShelfRules = ShelfRules()

    @model_validator(mode="after")
    def _consistent(self) -> ShelfInput:
        # InputError passes pydantic unwrapped, so every issue keeps its own path.
        issues = shelf_issues(self)
        if issues:
            raise InputError(issues)
        return self


def _product_issues(i: int, p: Product, rules: ShelfRules) -> list[Issue]:
    where = f"products[{i}]"
    issues = []
    if (p.stock is None) == (p.days_of_cover is None):
        issues.append(Issue(where, f"product {p.id!r}: give stock or days_of_cover, one of them"))
    if not p.restockable and p.restock_days is not None:
        message = f"product {p.id!r} cannot be restocked, so it has no restock_days"
        issues.append(Issue(f"{where}.restock_days", message))
    if rules.value == "margin" and p.margin is None:
        message = f"product {p.id!r} has no margin, and rules.value is margin"
        issues.append(Issue(f"{where}.margin", message))
    return issues


def shelf_issues(shelf: ShelfInput) -> list[Issue]:
    """Every cross-field problem of a field-valid shelf input."""
    issues: list[Issue] = []
    if shelf.weights is not None and len(shelf.weights) != shelf.slots:
        message = f"{len(shelf.weights)} weights given for {shelf.slots} slots"
        issues.append(Issue("weights", message))
    if shelf.weights is not None and shelf.decay is not None:
        issues.append(Issue("decay", "give weights or decay, not both"))
    first: dict[str, int] = {}
    holder: dict[int, str] = {}
    for i, p in enumerate(shelf.products):
        seen = first.setdefault(p.id, i)
        if seen != i:
            issues.append(Issue(f"products[{i}].id", f"duplicate product {p.id!r}"))
        if p.position is not None:
            other = holder.setdefault(p.position, p.id)
            if other != p.id:
                message = f"slot {p.position} is already held by {other!r}"
                issues.append(Issue(f"products[{i}].position", message))
        issues += _product_issues(i, p, shelf.rules)
    pinned: dict[int, str] = {}
    for product, slot in shelf.rules.pins.items():
        path = f"rules.pins.{product}"
        if product not in first:
            issues.append(Issue(path, f"unknown product {product!r}"))
        if slot > shelf.slots:
            issues.append(Issue(path, f"slot {slot} is beyond the shelf's {shelf.slots} slots"))
        other = pinned.setdefault(slot, product)
        if other != product:
            issues.append(Issue(path, f"slot {slot} is also pinned to {other!r}"))
    return issues


def parse_shelf_input(data: Any, source: str = "") -> ShelfInput:
    return parse_document(ShelfInput, data, source)


def with_rules(shelf: ShelfInput, rules: ShelfRules) -> ShelfInput:
    """The same shelf under other rules, checked again (a pin must name a product)."""
    data = shelf.model_dump(mode="json", exclude_unset=True)
    data["rules"] = rules.model_dump(mode="json", exclude_unset=True)
    return parse_shelf_input(data)
