"""The shelf ranking as arrays: what each candidate is worth in each free slot, which
slots the rules let it take, and the category limits left once pins are placed.

The value of a product in a slot is its expected sales value over the horizon: a slot
of weight w shows it to w x velocity buyers a day; once its stock runs out it sells
nothing until a restock arrives (never, for a product that cannot be restocked), and
every buyer turned away meanwhile costs `stockout_penalty` of a sale. So a product
that would run out in a top slot is worth more lower down, where it sells slower.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from engine.core.errors import Conflict, ConflictError, InputError, Issue
from engine.shelf.inputs import ShelfInput

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
Mask = NDArray[np.bool_]

# Products x slots the arrays may hold: 20,000 x 500, some 200 MB at most.
MAX_CELLS = 10_000_000


def position_weights(shelf: ShelfInput) -> F64:
    """Click-through weight of each slot, the top slot first."""
    if shelf.weights is not None:
        return np.asarray(shelf.weights, dtype=float)
    slot = np.arange(shelf.slots, dtype=float)
    if shelf.decay is not None:
        return np.power(shelf.decay, slot)
    return 1.0 / np.log2(slot + 2.0)


def horizon_sales(
    velocity: F64, stock: F64, lead: F64, weight: F64, horizon: float
) -> tuple[F64, F64]:
    """Units sold and units of demand lost over the horizon (broadcast over arrays);
    `lead` is the restock lead time in days, infinite for no restock."""
    rate = velocity * weight
    # A rate so small that stock / rate overflows runs out never, like a zero rate.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        runout = np.where(rate > 0, stock / rate, np.inf)
    gap = np.clip(np.minimum(lead, horizon) - runout, 0.0, None)
    return rate * (horizon - gap), rate * gap


@dataclass(frozen=True)
class CategoryWindow:
    """At most `capacity` more products of one category in the free slots `slots`."""

    rule: str  # e.g. "category_limits[0]"
    category: int
    capacity: int
    slots: Mask  # over the free slots


@dataclass(frozen=True)
class ShelfProblem:
    shelf: ShelfInput
    weights: F64  # every slot of the (trimmed) shelf
    velocity: F64  # per product
    stock: F64
    lead: F64  # restock lead time, inf when the product cannot be restocked
    cover: F64  # days of cover at full exposure
    unit_value: F64  # price or margin, times the new-product boost
    categories: list[str]
    category: I64  # per product, a code into `categories`
    pinned: dict[int, int]  # slot (0-based) -> product
    free_slots: I64  # slots no pin holds, top first
    candidates: I64  # products no pin holds
    value: F64  # [candidate, free slot]
    allowed: Mask  # [candidate, free slot]: the minimum-cover rule lets it there
    windows: list[CategoryWindow]

    @property
    def steady(self) -> Mask:
        """Candidates that never run out, wherever they stand: their value is
        proportional to the slot's weight, which makes sorting exact."""
        top = float(self.weights[self.free_slots].max()) if self.free_slots.size else 0.0
        c = self.candidates
        _, lost = horizon_sales(
            self.velocity[c], self.stock[c], self.lead[c], np.array(top), self.horizon
        )
        return np.asarray(lost <= 0.0)

    @property
    def horizon(self) -> float:
        return self.shelf.rules.horizon_days

    def slot_value(self, product: int, slot: int) -> float:
        """Value of one product in one slot (0-based), by the objective's formula."""
        sold, lost = horizon_sales(
            self.velocity[product : product + 1],
            self.stock[product : product + 1],
            self.lead[product : product + 1],
            self.weights[slot : slot + 1],
            self.horizon,
        )
        penalty = self.shelf.rules.stockout_penalty
        return float(self.unit_value[product] * (sold[0] - penalty * lost[0]))


def _conflict(shelf: ShelfInput, rules: list[str], detail: str, skus: list[str]) -> ConflictError:
    return ConflictError([Conflict(rules=rules, skus=skus, shops=[shelf.shop], detail=detail)])


def build_problem(shelf: ShelfInput) -> ShelfProblem:
    """Arrays for the solvers; rules that cannot all hold raise a ConflictError."""
    rules, products = shelf.rules, shelf.products
    n = len(products)
    weights = position_weights(shelf)[: min(shelf.slots, n)]
    if n * weights.size > MAX_CELLS:
        message = f"{n:,} products x {weights.size:,} slots is beyond {MAX_CELLS:,} cells"
        raise InputError([Issue("slots", message)])
    index = {p.id: i for i, p in enumerate(products)}
    velocity = np.array([p.velocity for p in products], dtype=float)
    stock = np.array([p.units for p in products], dtype=float)
    lead = np.array(
        [(p.restock_days if p.restock_days is not None else rules.restock_days) for p in products],
        dtype=float,
    )
    lead[[not p.restockable for p in products]] = np.inf
    cover = np.array([p.cover for p in products], dtype=float)
    money = [p.margin if rules.value == "margin" else p.price for p in products]
    boost = np.array([rules.new_boost if p.new else 1.0 for p in products])
    unit_value = np.array([float(m or 0) for m in money]) * boost
    categories = sorted({p.category for p in products})
    code = {c: k for k, c in enumerate(categories)}
    category = np.array([code[p.category] for p in products], dtype=np.int64)

    pinned: dict[int, int] = {}
    for product, slot in rules.pins.items():
        if slot > weights.size:
            detail = f"{product} is pinned to slot {slot}, but the shelf holds {weights.size}"
            raise _conflict(shelf, ["pins"], detail, [product])
        pinned[slot - 1] = index[product]
    free_slots = np.array([s for s in range(weights.size) if s not in pinned], dtype=np.int64)
    held = set(pinned.values())
    candidates = np.array([i for i in range(n) if i not in held], dtype=np.int64)

    sold, lost = horizon_sales(
        velocity[candidates, None],
        stock[candidates, None],
        lead[candidates, None],
        weights[None, free_slots],
        rules.horizon_days,
    )
    value = unit_value[candidates, None] * (sold - rules.stockout_penalty * lost)
    allowed = _cover_allowed(shelf, cover, pinned, free_slots, candidates)
    windows = _category_windows(shelf, categories, category, pinned, free_slots, candidates)
    return ShelfProblem(
        shelf=shelf,
        weights=weights,
        velocity=velocity,
        stock=stock,
        lead=lead,
        cover=cover,
        unit_value=unit_value,
        categories=categories,
        category=category,
        pinned=pinned,
        free_slots=free_slots,
        candidates=candidates,
        value=value,
        allowed=allowed,
        windows=windows,
    )


def _cover_allowed(
    shelf: ShelfInput, cover: F64, pinned: dict[int, int], free_slots: I64, candidates: I64
) -> Mask:
    rule = shelf.rules.min_cover
    allowed = np.ones((candidates.size, free_slots.size), dtype=bool)
    if rule is None:
        return allowed
    short = cover < rule.days
    for slot, product in pinned.items():
        if slot < rule.top and short[product]:
            pid = shelf.products[product].id
            detail = f"{pid} is pinned to slot {slot + 1} with {cover[product]:.1f} days of cover"
            raise _conflict(shelf, ["pins", "min_cover"], detail, [pid])
    in_window = free_slots < rule.top
    allowed[np.ix_(short[candidates], in_window)] = False
    need, have = int(in_window.sum()), int((~short[candidates]).sum())
    if have < need:
        detail = (
            f"{need} free slot(s) of the top {rule.top} need {rule.days:g} days of cover,"
            f" only {have} product(s) have it"
        )
        raise _conflict(shelf, ["min_cover"], detail, [])
    return allowed


def _category_windows(
    shelf: ShelfInput,
    categories: list[str],
    category: I64,
    pinned: dict[int, int],
    free_slots: I64,
    candidates: I64,
) -> list[CategoryWindow]:
    """One window per limited category, less what pins already use; windows that can
    never bind (fewer candidates or slots than the room left) are dropped."""
    windows = []
    for k, limit in enumerate(shelf.rules.category_limits):
        name = f"category_limits[{k}]"
        names = [limit.category] if limit.category is not None else categories
        for cat in names:
            if cat not in categories:
                continue
            g = categories.index(cat)
            held = [p for s, p in pinned.items() if s < limit.top and category[p] == g]
            room = limit.max - len(held)
            if room < 0:
                ids = [shelf.products[p].id for p in held]
                detail = f"{len(held)} pinned product(s) of {cat!r} in the top {limit.top}"
                raise _conflict(shelf, ["pins", name], f"{detail}, at most {limit.max}", ids)
            slots = free_slots < limit.top
            members = int((category[candidates] == g).sum())
            if room < min(members, int(slots.sum())):
                windows.append(CategoryWindow(name, g, room, slots))
    return windows
