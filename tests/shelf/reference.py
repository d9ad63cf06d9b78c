"""An independent reference for shelf rankings: the objective written again with plain
floats, the rules checked on a finished shelf, and brute force over every shelf."""

from __future__ import annotations

import itertools
import math
from typing import Any

from hypothesis import strategies as st

from engine.shelf.inputs import Product, ShelfInput


def slot_weights(shelf: ShelfInput) -> list[float]:
    if shelf.weights is not None:
        return list(shelf.weights)
    if shelf.decay is not None:
        return [shelf.decay**k for k in range(shelf.slots)]
    return [1.0 / math.log2(k + 2) for k in range(shelf.slots)]


def _stock(p: Product) -> float:
    return float(p.stock) if p.stock is not None else (p.days_of_cover or 0.0) * p.velocity


def cover(p: Product) -> float:
    if p.days_of_cover is not None:
        return p.days_of_cover
    return _stock(p) / p.velocity if p.velocity > 0 else math.inf


def value(shelf: ShelfInput, p: Product, weight: float) -> float:
    """Expected sales value over the horizon, less the penalty for buyers turned away."""
    rules = shelf.rules
    horizon, rate = rules.horizon_days, p.velocity * weight
    if rate == 0:
        return 0.0
    lead = p.restock_days if p.restock_days is not None else rules.restock_days
    if not p.restockable:
        lead = math.inf
    out_for = max(0.0, min(lead, horizon) - _stock(p) / rate)
    sold, lost = rate * (horizon - out_for), rate * out_for
    money = float(p.margin if rules.value == "margin" and p.margin is not None else p.price)
    boost = rules.new_boost if p.new else 1.0
    return money * boost * (sold - rules.stockout_penalty * lost)


def holds(shelf: ShelfInput, shown: list[Product]) -> bool:
    """Every rule holds for the shelf `shown` (the product in each slot, top first)."""
    rules = shelf.rules
    for pid, slot in rules.pins.items():
        if slot > len(shown) or shown[slot - 1].id != pid:
            return False
    for limit in rules.category_limits:
        top = [p.category for p in shown[: limit.top]]
        categories = [limit.category] if limit.category is not None else set(top)
        if any(top.count(c) > limit.max for c in categories):
            return False
    if rules.min_cover is not None:
        top_cover = [cover(p) for p in shown[: rules.min_cover.top]]
        if any(c < rules.min_cover.days for c in top_cover):
            return False
    return True


def shelf_value(shelf: ShelfInput, shown: list[Product]) -> float:
    return sum(value(shelf, p, w) for p, w in zip(shown, slot_weights(shelf), strict=False))


def best_value(shelf: ShelfInput) -> float | None:
    """The optimum by brute force; None when no shelf satisfies the rules."""
    size = min(shelf.slots, len(shelf.products))
    best = None
    for shown in itertools.permutations(shelf.products, size):
        if holds(shelf, list(shown)):
            v = shelf_value(shelf, list(shown))
            best = v if best is None else max(best, v)
    return best


@st.composite
def shelves(
    draw: st.DrawFn,
    limits: bool | str = True,
    cover_rule: bool = True,
    pins: bool = True,
    steady: bool = False,
) -> dict[str, Any]:
    """Small random shelves: up to 6 products, up to 5 slots, and the rules asked for.
    `steady` products never run out, whatever the slot (the case sorting solves);
    limits="always" gives every shelf a category limit."""
    n = draw(st.integers(1, 6))
    slots = draw(st.integers(1, 5))
    horizon = draw(st.sampled_from([7.0, 14.0]))
    products = []
    positions = draw(st.permutations(list(range(1, n + 1))))
    for i in range(n):
        velocity = draw(st.floats(0, 20, allow_nan=False).map(lambda v: round(v, 1)))
        row: dict[str, Any] = {
            "id": f"P{i}",
            "velocity": velocity,
            "price": f"{draw(st.integers(1, 999))}.00",
            "category": draw(st.sampled_from(["a", "b", "c"])),
            "new": draw(st.booleans()),
        }
        if steady:
            row["stock"] = math.ceil(velocity * horizon) + draw(st.integers(0, 50))
        else:
            row["stock"] = draw(st.integers(0, 150))
            if draw(st.booleans()):
                row["restockable"] = False
            else:
                row["restock_days"] = draw(st.sampled_from([0.0, 2.0, 5.0, 30.0]))
        if draw(st.booleans()):
            row["position"] = positions[i]
        products.append(row)
    shelf: dict[str, Any] = {"shop": "s", "slots": slots, "products": products}
    if not steady:
        shape = draw(st.sampled_from(["default", "decay", "weights"]))
        if shape == "decay":
            shelf["decay"] = draw(st.sampled_from([0.5, 0.8, 1.0]))
        elif shape == "weights":
            shelf["weights"] = draw(
                st.lists(st.integers(1, 9).map(float), min_size=slots, max_size=slots)
            )
    rules: dict[str, Any] = {
        "horizon_days": horizon,
        "new_boost": draw(st.sampled_from([1.0, 1.5])),
        "stockout_penalty": draw(st.sampled_from([0.0, 0.5, 2.0])),
    }
    if pins and draw(st.booleans()):
        pinned = draw(st.lists(st.integers(0, n - 1), max_size=min(2, slots), unique=True))
        spots = draw(
            st.lists(st.integers(1, slots), min_size=len(pinned), max_size=len(pinned), unique=True)
        )
        rules["pins"] = {f"P{i}": s for i, s in zip(pinned, spots, strict=False)}
    if limits == "always" or (limits and draw(st.booleans())):
        rules["category_limits"] = [
            {
                "category": draw(st.sampled_from([None, "a", "b"])),
                "max": draw(st.integers(0, 2)),
                "top": draw(st.integers(1, 5)),
            }
            for _ in range(draw(st.integers(1, 2)))
        ]
    if cover_rule and draw(st.booleans()):
        rules["min_cover"] = {
            "days": draw(st.sampled_from([1.0, 5.0, 10.0])),
            "top": draw(st.integers(1, 3)),
        }
    shelf["rules"] = rules
    return shelf
