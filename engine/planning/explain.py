"""Why each number of a plan is what it is, for one SKU: read from the plan alone, and
the demand behind its velocities read from the snapshot (its sales history)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.core.errors import InputError, Issue
from engine.core.index import SnapshotIndex
from engine.core.plan import Allocation, Plan
from engine.demand.cells import SOURCES, Forecast, forecast


@dataclass(frozen=True)
class CellStory:
    shop: str
    quantity: int
    shared: int
    why: str


@dataclass(frozen=True)
class SkuStory:
    sku: str
    pool_lines: list[str]
    cells: list[CellStory]
    unallocated: list[str]


def _cell_reason(a: Allocation, pool: int) -> str:
    rules = ", ".join(a.binding) if a.binding else "the default split"
    if a.lb == a.ub and a.quantity == a.lb:
        return f"fixed at {a.lb} by {rules}"
    parts = []
    if a.quantity == a.target:
        parts.append(f"meets its target {a.target}")
    elif a.quantity < a.target:
        parts.append(f"{a.target - a.quantity} below its target {a.target}")
    else:
        parts.append(
            f"{a.quantity - a.target} above its target {a.target} (stock others could not take)"
        )
    if a.lb > 0:
        parts.append(f"at least {a.lb} required")
    if a.quantity == a.ub and a.ub < pool:
        parts.append(f"capped at {a.ub}")
    if a.shared:
        parts.append(f"also lists the shared part of {a.shared}")
    return "; ".join(parts) + f" - rules: {rules}"


def explain_sku(plan: Plan, sku: str) -> SkuStory:
    cells = [a for a in plan.allocations if a.sku == sku]
    pools = [p for p in plan.skus if p.sku == sku]
    if not cells and not pools:
        raise InputError([Issue("--sku", f"SKU '{sku}' is not in plan {plan.plan_id}")])
    lines = []
    pool = pools[0].pool if pools else 0
    if pools:
        p = pools[0]
        lines.append(f"sellable stock reachable by its shops: {p.sellable}")
        if p.virtual:
            lines.append(f"virtual / presale units added: {p.virtual}")
        for rule, units in p.reserved.items():
            lines.append(f"held back by {rule}: {units}")
        lines.append(f"pool placed by the solver: {p.pool}")
        lines.append(f"shares from: {p.share_rule or 'default split (velocity, else equal)'}")
    return SkuStory(
        sku=sku,
        pool_lines=lines,
        cells=[CellStory(a.shop, a.quantity, a.shared, _cell_reason(a, pool)) for a in cells],
        unallocated=[
            f"{u.quantity} unallocated: {u.reason}" for u in plan.unallocated if u.sku == sku
        ],
    )


@dataclass(frozen=True)
class CellDemand:
    """One cell's demand: its sales history in brief and the estimate a plan of the
    same snapshot uses (engine.demand.velocity_for: velocity rows win)."""

    shop: str
    history_days: int  # days the snapshot's history covers
    units_sold: int
    censored_days: int  # days the listing ran out
    naive_rate: float  # units sold a day over the last 14 days (stockouts as zeros)
    rate: float  # the velocity the plan uses, units a day
    rate_sd: float
    dispersion: float  # negative binomial size; inf: Poisson
    source: str  # velocity, history, category or none


def explain_demand(
    index: SnapshotIndex, sku: str, seen: Forecast | None = None
) -> list[CellDemand]:
    """Every cell of the SKU (in shop rank order): history summary and estimate.
    `seen`: the forecast of this index if already made."""
    if sku not in index.sku_pos:
        raise InputError([Issue("--sku", f"SKU '{sku}' is not in the snapshot")])
    made = seen if seen is not None else forecast(index)
    cells = np.flatnonzero(index.cell_sku == index.sku_pos[sku])
    return [
        CellDemand(
            shop=index.shop_ids[int(index.cell_shop[c])],
            history_days=int(made.history_days[c]),
            units_sold=int(made.units_sold[c]),
            censored_days=int(made.censored_days[c]),
            naive_rate=float(made.naive[c]),
            rate=float(made.rate[c]),
            rate_sd=float(made.rate_sd[c]),
            dispersion=float(made.dispersion[c]),
            source=SOURCES[int(made.source[c])],
        )
        for c in cells
    ]
