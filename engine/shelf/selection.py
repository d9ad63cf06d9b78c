"""Product selection: which products a shop with a limit on listings should list next.

A candidate's expected units per day here are its velocity on the brand's other shops,
scaled by how this shop sells relative to each of them (`shop_factors`), and capped by
the stock available to this shop over the horizon. Picks go by expected value per day,
at most `max_per_category` new listings per category; with one cap per category and one
on the total, taking the best candidate that still fits is optimal (a matroid).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from engine.core.errors import InputError, Issue
from engine.core.limits import MAX_FACTOR, MAX_UNITS
from engine.core.snapshot import Id, Money, Velocity
from engine.shelf.inputs import Strict, parse_document


class Candidate(Strict):
    id: Id
    category: str = ""
    price: Money
    margin: Money | None = None
    stock: Annotated[int, Field(ge=0, le=MAX_UNITS)]  # units this shop could list
    velocity_elsewhere: dict[str, Velocity] = {}  # units/day on the brand's other shops
    expected_velocity: Velocity | None = None  # the operator's own estimate, if any


class SelectionInput(Strict):
    shop: Id
    listing_limit: Annotated[int, Field(ge=0)]
    listed: list[Id] = []
    # This shop's sales per unit sold on another shop, for the same products (default 1).
    shop_factors: dict[str, Annotated[float, Field(gt=0, le=MAX_FACTOR, allow_inf_nan=False)]] = {}
    horizon_days: Annotated[float, Field(gt=0, le=3650, allow_inf_nan=False)] = 14.0
    value: Literal["sales", "margin"] = "sales"
    max_per_category: Annotated[int, Field(ge=1)] | None = None
    candidates: list[Candidate]

    @model_validator(mode="after")
    def _consistent(self) -> SelectionInput:
        issues: list[Issue] = []
        seen: set[str] = set()
        listed = set(self.listed)
        for i, c in enumerate(self.candidates):
            if c.id in seen:
                issues.append(Issue(f"candidates[{i}].id", f"duplicate product {c.id!r}"))
            if c.id in listed:
                issues.append(Issue(f"candidates[{i}].id", f"{c.id!r} is already listed"))
            if self.value == "margin" and c.margin is None:
                message = f"product {c.id!r} has no margin, and value is margin"
                issues.append(Issue(f"candidates[{i}].margin", message))
            seen.add(c.id)
        if issues:
            raise InputError(issues)
        return self


class Pick(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rank: int
    product: str
    category: str
    units_per_day: float
    value_per_day: float
    stock: int
    days_of_cover: float | None
    reason: str


class Selection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shop: str
    room: int  # listings the limit still allows
    candidates: int
    picks: list[Pick]
    held_back: list[str]  # better than the last pick, but their category was full


def parse_selection_input(data: Any, source: str = "") -> SelectionInput:
    return parse_document(SelectionInput, data, source)


def _estimate(sel: SelectionInput, c: Candidate) -> float:
    if c.expected_velocity is not None:
        return c.expected_velocity
    rates = [v * sel.shop_factors.get(shop, 1.0) for shop, v in c.velocity_elsewhere.items()]
    return sum(rates) / len(rates) if rates else 0.0


def _reason(sel: SelectionInput, c: Candidate, demand: float, units: float) -> str:
    if c.expected_velocity is not None:
        seen = f"estimated {demand:.1f}/day"
    else:
        top = sorted(c.velocity_elsewhere.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        seen = ", ".join(f"{v:.1f}/day on {shop}" for shop, v in top)
    if units < demand:
        return f"sells {seen}; only {c.stock} units here: {units:.1f}/day over the horizon"
    cover = c.stock / units
    return f"sells {seen}: {units:.1f}/day expected here, {c.stock} units ({cover:.0f} days)"


def select(sel: SelectionInput) -> Selection:
    room = max(sel.listing_limit - len(sel.listed), 0)
    scored = []
    for c in sel.candidates:
        demand = _estimate(sel, c)
        units = min(demand, c.stock / sel.horizon_days)
        worth = c.margin if sel.value == "margin" else c.price
        scored.append((units * float(worth or 0), c, demand, units))
    scored.sort(key=lambda s: (-s[0], s[1].id))
    picks: list[Pick] = []
    held: list[str] = []
    per_category: dict[str, int] = {}
    for value, c, demand, units in scored:
        if len(picks) == room or value <= 0:
            break
        taken = per_category.get(c.category, 0)
        if sel.max_per_category is not None and taken >= sel.max_per_category:
            held.append(f"{c.id}: {c.category or '(no category)'} has {taken} picks already")
            continue
        per_category[c.category] = taken + 1
        picks.append(
            Pick(
                rank=len(picks) + 1,
                product=c.id,
                category=c.category,
                units_per_day=round(units, 3),
                value_per_day=round(value, 2),
                stock=c.stock,
                days_of_cover=round(c.stock / units, 1) if units > 0 else None,
                reason=_reason(sel, c, demand, units),
            )
        )
    return Selection(
        shop=sel.shop, room=room, candidates=len(sel.candidates), picks=picks, held_back=held
    )
