"""What a variant's replications share, built once (`prepare`), and the day-by-day
ledger a replication keeps when traced. The model is described in simulate.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from engine.core.index import SnapshotIndex
from engine.scenarios.demand import cell_keys, uplift_factors
from engine.scenarios.listing import I64, Listing, Mask
from engine.scenarios.spec import PlannerVelocity, SimulationSettings, VariantInputs
from engine.scenarios.stock import Supply, derive_supply

F64 = NDArray[np.float64]


@dataclass
class Trace:
    """One replication, day by day (for tests and debugging). [day, cell] or [day, sku]."""

    sku_ids: list[str]
    shop_ids: list[str]
    cell_sku: I64
    cell_shop: I64
    plan_days: list[int]
    demand: I64  # [day, cell]
    listing: I64  # [day, cell]: listing after the day's plan, before its sales
    accepted: I64
    shipped: I64
    oversold: I64
    refused: I64  # demand not accepted (closed shops included)
    prevented: I64
    avoidable: I64
    start: I64  # [day, sku]: physical stock at the start of the day, before arrivals
    arrived: I64
    sold: I64  # physical units that left (components of sold bundles included)
    presold: I64
    left: I64
    derived_gap: I64  # [day]: |pool derivation on the buckets - tracked stock|, summed


@dataclass
class PreparedVariant:
    """What does not change between replications."""

    inputs: VariantInputs
    settings: SimulationSettings
    limit: float
    index: SnapshotIndex
    supply0: Supply  # the pool derivation on the snapshot as given
    rate: F64  # [day, cell] expected demand
    plan_factor: F64  # [day, cell] planned uplifts
    keys: NDArray[np.uint64]
    open_cell: Mask
    price: F64  # per SKU, in currency units
    is_bundle: Mask
    bundle_rows: dict[int, tuple[I64, I64]]  # bundle -> (components, qty)
    restricted_cell: Mask  # the cell's shop misses a warehouse that sells
    restricted_bundle_cells: dict[int, I64]  # bundle -> its restricted cells
    plan_days: list[int]
    velocity_source: PlannerVelocity  # where the planner's velocity comes from (history.py)
    arrivals: dict[int, list[tuple[int, int, int]]]  # day -> (sku, warehouse, units)
    day0: Listing | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def days(self) -> int:
        return self.settings.horizon_days


def prepare(
    inputs: VariantInputs,
    settings: SimulationSettings,
    limit: float,
    index: SnapshotIndex | None = None,
) -> PreparedVariant:
    """What the replications share; `index` is the snapshot's, when the caller has it
    (the snapshot itself is then not read)."""
    if settings.horizon_days < 1:
        raise ValueError("horizon_days must be at least 1")
    if settings.replications < 1:
        raise ValueError("replications must be at least 1")
    every = settings.replan_every_days
    if every is not None and every < 1:
        raise ValueError("replan_every_days must be at least 1 (or None)")
    if settings.warmup_days < 0:
        raise ValueError("warmup_days must be at least 0")
    if inputs.planner == "incumbent" and inputs.incumbent is None:
        raise ValueError(f"variant {inputs.name!r}: the incumbent planner needs a policy")
    if index is None:
        index = SnapshotIndex.build(inputs.snapshot)
    days = settings.horizon_days
    arrivals: dict[int, list[tuple[int, int, int]]] = {}
    for a in inputs.arrivals:
        if a.sku not in index.sku_pos or a.warehouse not in index.wh_pos:
            raise ValueError(f"arrival of unknown SKU {a.sku!r} or warehouse {a.warehouse!r}")
        if a.day < 0 or a.quantity < 0:
            raise ValueError(f"arrival of {a.sku!r}: day and quantity must be >= 0")
        if a.day < days:  # later arrivals fall after the horizon
            arrivals.setdefault(a.day, []).append(
                (index.sku_pos[a.sku], index.wh_pos[a.warehouse], a.quantity)
            )
    supply0 = derive_supply(index, inputs.ruleset)
    closed = np.array([s in inputs.closed_shops for s in index.shop_ids], dtype=bool)
    is_bundle = np.zeros(index.n_skus, dtype=bool)
    is_bundle[supply0.bundle] = True
    rows = {
        int(b): (supply0.component[supply0.bundle == b], supply0.qty[supply0.bundle == b])
        for b in np.unique(supply0.bundle)
    }
    serving = np.array([kind == "sellable" for kind in index.wh_kind], dtype=bool)
    restricted = np.any(serving[None, :] & ~supply0.reach, axis=1)
    restricted_bundle_cells = {b: np.flatnonzero((index.cell_sku == b) & restricted) for b in rows}
    factor = uplift_factors(index, inputs.uplifts, days)
    return PreparedVariant(
        inputs=inputs,
        settings=settings,
        limit=limit,
        index=index,
        supply0=supply0,
        rate=index.velocity[None, :] * factor,
        plan_factor=uplift_factors(index, inputs.uplifts, days, planned_only=True),
        keys=cell_keys(index),
        open_cell=~closed[index.cell_shop],
        price=index.price_cents / 100.0,
        is_bundle=is_bundle,
        bundle_rows=rows,
        restricted_cell=restricted,
        restricted_bundle_cells=restricted_bundle_cells,
        plan_days=list(range(0, days, every if every is not None else days)),
        velocity_source=settings.velocity_of(inputs),
        arrivals=arrivals,
    )
