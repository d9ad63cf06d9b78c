"""Each product's move on the shelf (up, down, new, out, same) and the reason for it,
told from the facts an operator checks: cover, restock, sales, the rule that binds.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict

from engine.shelf.problem import ShelfProblem, horizon_sales

MoveKind = Literal["up", "down", "same", "new", "out"]


class Move(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product: str
    slot: int | None  # 1-based; None: off the shelf
    previous: int | None
    move: MoveKind
    shift: int  # slots gained (negative: lost); 0 for new and out
    units_per_day: float  # expected at the new slot, over the horizon
    days_of_cover: float | None  # None: no sales, so it never runs out
    reason: str


def _days(value: float) -> str:
    if value < 1:
        return "less than a day"
    text = f"{value:.0f}" if value >= 10 or value == round(value) else f"{value:.1f}"
    return f"{text} day" + ("" if text == "1" else "s")


def _restock(problem: ShelfProblem, i: int) -> str:
    lead = float(problem.lead[i])
    return "no restock" if math.isinf(lead) else f"restock in {_days(lead)}"


def _runs_out(problem: ShelfProblem, i: int, slot: int) -> bool:
    """Whether product i would run out before the horizon ends (and before a restock)."""
    weight = problem.weights[min(slot, problem.weights.size - 1)]
    _, lost = horizon_sales(
        problem.velocity[i], problem.stock[i], problem.lead[i], weight, problem.horizon
    )
    return bool(lost > 0)


def _cover(problem: ShelfProblem, i: int) -> str:
    cover = float(problem.cover[i])
    if math.isinf(cover):
        return "no sales yet"
    return "no stock" if problem.stock[i] <= 0 else f"{_days(cover)} of cover"


def _why_lower(problem: ShelfProblem, i: int, before: int, order: dict[int, int]) -> str:
    """Why product i left slot `before` (0-based): the first fact that explains it."""
    rules = problem.shelf.rules
    after = order.get(i)
    if _runs_out(problem, i, before):
        return f"{_cover(problem, i)}, {_restock(problem, i)}"
    cover_rule = rules.min_cover
    if cover_rule and before < cover_rule.top and problem.cover[i] < cover_rule.days:
        required = f"{_days(cover_rule.days)} required in the top {cover_rule.top}"
        return f"{_cover(problem, i)}, below the {required}"
    category = problem.category[i]
    for window_rule in rules.category_limits:
        applies = window_rule.category in (None, problem.categories[category])
        leaves = before < window_rule.top and (after is None or after >= window_rule.top)
        in_top = sum(
            1 for p, s in order.items() if s < window_rule.top and problem.category[p] == category
        )
        if applies and leaves and in_top >= window_rule.max:
            name = problem.categories[category] or "(no category)"
            return f"{name} already has {window_rule.max} in the top {window_rule.top}"
    taker = next((p for p, s in order.items() if s == before), None)
    if taker is None:
        return "others are worth more"
    return f"slot {before + 1} went to {problem.shelf.products[taker].id}, worth more there"


def _why_higher(problem: ShelfProblem, i: int) -> str:
    product = problem.shelf.products[i]
    facts = f"sells {product.velocity:.1f}/day, {_cover(problem, i)}"
    if not math.isinf(problem.cover[i]) and problem.cover[i] < problem.horizon:
        facts += f", {_restock(problem, i)}"
    boost = problem.shelf.rules.new_boost
    if product.new and boost != 1.0:
        facts = f"new product (boost x{boost:g}), {facts}"
    return facts


def _units_per_day(problem: ShelfProblem, i: int, slot: int) -> float:
    sold, _ = horizon_sales(
        problem.velocity[i],
        problem.stock[i],
        problem.lead[i],
        problem.weights[slot],
        problem.horizon,
    )
    return round(float(sold) / problem.horizon, 3)


def moves(problem: ShelfProblem, order: dict[int, int]) -> list[Move]:
    """The shelf in slot order, then the products that left it; `order` maps product
    index -> new slot (0-based)."""
    products = problem.shelf.products
    pinned = {p: s for s, p in problem.pinned.items()}
    result = []
    for i, slot in sorted(order.items(), key=lambda item: item[1]):
        before = products[i].position
        if before is None:
            kind: MoveKind = "new"
            tail = f"new at {slot + 1}"
        elif before - 1 == slot:
            kind, tail = "same", "stays"
        else:
            kind = "up" if before - 1 > slot else "down"
            tail = f"{kind} {abs(before - 1 - slot)}"
        if i in pinned:
            why = f"pinned to slot {slot + 1}"
        elif kind == "down" and before is not None:
            why = _why_lower(problem, i, before - 1, order)
        else:
            why = _why_higher(problem, i)
        result.append(_move(problem, i, slot, kind, f"{why}: {tail}"))
    # A product below the ranked slots was never on this part of the shelf.
    shown = problem.weights.size
    gone = [
        i
        for i, p in enumerate(products)
        if p.position is not None and p.position <= shown and i not in order
    ]
    for i in sorted(gone, key=lambda k: products[k].position or 0):
        before = (products[i].position or 1) - 1
        why = _why_lower(problem, i, before, order)
        result.append(_move(problem, i, None, "out", f"{why}: out (was {before + 1})"))
    return result


def _move(problem: ShelfProblem, i: int, slot: int | None, kind: MoveKind, reason: str) -> Move:
    before = problem.shelf.products[i].position
    cover = float(problem.cover[i])
    return Move(
        product=problem.shelf.products[i].id,
        slot=None if slot is None else slot + 1,
        previous=before,
        move=kind,
        shift=0 if slot is None or before is None else before - 1 - slot,
        units_per_day=0.0 if slot is None else _units_per_day(problem, i, slot),
        days_of_cover=None if math.isinf(cover) else round(cover, 2),
        reason=reason,
    )
