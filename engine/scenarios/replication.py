"""One replication of a variant as it plays: the state, the re-plans, and each day up to
its trade (market.py). `prepare` builds once per variant what no replication changes.
The model is described in simulate.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta

import numpy as np
from numpy.typing import NDArray

from engine.core.errors import ConflictError
from engine.core.index import SnapshotIndex
from engine.scenarios.demand import cell_keys, demand, uplift_factors
from engine.scenarios.kpis import Totals
from engine.scenarios.listing import I64, Listing, Mask, incumbent_plan, omnistock_listing
from engine.scenarios.market import trade
from engine.scenarios.spec import SimulationSettings, VariantInputs
from engine.scenarios.stock import Stock, Supply, derive_supply, per_sku, with_stock

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
    arrivals: dict[int, list[tuple[int, int, int]]]  # day -> (sku, warehouse, units)
    day0: Listing | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def days(self) -> int:
        return self.settings.horizon_days


def prepare(inputs: VariantInputs, settings: SimulationSettings, limit: float) -> PreparedVariant:
    if settings.horizon_days < 1:
        raise ValueError("horizon_days must be at least 1")
    if settings.replications < 1:
        raise ValueError("replications must be at least 1")
    every = settings.replan_every_days
    if every is not None and every < 1:
        raise ValueError("replan_every_days must be at least 1 (or None)")
    if inputs.planner == "incumbent" and inputs.incumbent is None:
        raise ValueError(f"variant {inputs.name!r}: the incumbent planner needs a policy")
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
        arrivals=arrivals,
    )


class Replication:
    """The state of one replication as it plays."""

    def __init__(self, v: PreparedVariant, replication: int, trace: bool) -> None:
        self.v = v
        self.replication = replication
        ix = v.index
        self.stock = Stock(ix, v.supply0)
        self.demand = demand(v.rate, v.keys, v.settings.seed, replication)
        self.listing: Listing | None = None
        self.totals = Totals(days=v.days, n_shops=ix.n_shops)
        self.plans = 0
        self.trace = self._new_trace() if trace else None

    def _new_trace(self) -> Trace:
        ix, days = self.v.index, self.v.days

        def cells() -> I64:
            return np.zeros((days, ix.n_cells), dtype=np.int64)

        def skus() -> I64:
            return np.zeros((days, ix.n_skus), dtype=np.int64)

        return Trace(
            sku_ids=ix.sku_ids,
            shop_ids=ix.shop_ids,
            cell_sku=ix.cell_sku,
            cell_shop=ix.cell_shop,
            plan_days=[],
            demand=self.demand.copy(),
            listing=cells(),
            accepted=cells(),
            shipped=cells(),
            oversold=cells(),
            refused=cells(),
            prevented=cells(),
            avoidable=cells(),
            start=skus(),
            arrived=skus(),
            sold=skus(),
            presold=skus(),
            left=skus(),
            derived_gap=np.zeros(days, dtype=np.int64),
        )

    # --- planning -------------------------------------------------------------------

    def _plan_index(self, t: int) -> SnapshotIndex:
        v, ix = self.v, self.v.index
        listed = ix.listed if self.listing is None else self.listing.per_cell(ix.cell_sku)
        day = with_stock(
            ix, self.stock.on_hand.copy(), self.stock.locked.copy(), ix.as_of + timedelta(days=t)
        )
        return replace(day, velocity=ix.velocity * v.plan_factor[t], listed=listed)

    def _make_listing(self, t: int) -> Listing:
        v = self.v
        if t == 0 and v.day0 is not None:  # day 0 is the same in every replication
            return v.day0.copy()
        index = self._plan_index(t)
        inputs = v.inputs
        if inputs.planner == "incumbent":
            assert inputs.incumbent is not None
            listing = incumbent_plan(index, inputs.ruleset, inputs.incumbent, inputs.closed_shops)
        else:
            listing = omnistock_listing(index, inputs.ruleset, inputs.mode, v.limit)
        listing.exclusive[~v.open_cell] = 0
        listing.access &= v.open_cell
        if t == 0:
            v.day0 = listing.copy()
        return listing

    def _plan(self, t: int) -> None:
        v, ix = self.v, self.v.index
        try:
            new = self._make_listing(t)
        except ConflictError as err:
            if t == 0:
                raise
            where = f"replication {self.replication}, " if v.settings.replications > 1 else ""
            v.warnings.append(f"{where}day {t}: no plan ({err}); the previous listings stood")
            return
        self.plans += 1
        before = (
            np.zeros(ix.n_cells, dtype=np.int64)
            if self.listing is None
            else self.listing.per_cell(ix.cell_sku)
        )
        offered = np.maximum(new.per_cell(ix.cell_sku) - before, 0)
        self.totals.offered_by_shop += np.bincount(
            ix.cell_shop, weights=offered, minlength=ix.n_shops
        )
        if t == 0:
            shown = np.zeros(ix.n_skus, dtype=bool)
            shown[ix.cell_sku[new.access]] = True
            self.totals.units_listed_day0 = float(new.exclusive.sum() + new.shared[shown].sum())
            self.totals.pool_day0 = float(new.pool.sum())
        self.listing = new
        if self.trace is not None:
            self.trace.plan_days.append(t)

    # --- one day ---------------------------------------------------------------------

    def day(self, t: int) -> None:
        v, ix, tr = self.v, self.v.index, self.trace
        stock = self.stock
        start = stock.physical
        if tr is not None:
            derived = derive_supply(with_stock(ix, stock.on_hand, stock.locked), v.inputs.ruleset)
            tr.derived_gap[t] = int(np.abs(derived.physical - start).sum())
            tr.start[t] = start
        if t == 0:
            self.totals.physical_start = float(start.sum())
        if t in v.arrivals:
            for sku, wh, units in v.arrivals[t]:
                stock.on_hand[sku, wh] += units
            now = with_stock(ix, stock.on_hand, stock.locked)
            stock.reset(derive_supply(now, v.inputs.ruleset))
        arrived = stock.physical - start
        self.totals.arrived += float(arrived.sum())
        if t in v.plan_days:
            self._plan(t)
        assert self.listing is not None
        if t == 0:
            rate0 = v.rate[0][v.open_cell].sum()
            self.totals.demand_rate_start = float(rate0)
        if tr is not None:
            tr.arrived[t] = arrived
            tr.listing[t] = self.listing.per_cell(ix.cell_sku)
        trade(self, t)

    def finish(self) -> None:
        v, ix, lst, stock = self.v, self.v.index, self.listing, self.stock
        assert lst is not None
        physical = stock.physical
        shown = np.zeros(ix.n_skus, dtype=bool)
        shown[ix.cell_sku[lst.access]] = True
        listed = per_sku(ix.cell_sku, lst.exclusive, ix.n_skus) + np.where(shown, lst.shared, 0)
        s = v.supply0
        if s.bundle.size:
            draw = np.maximum(listed[s.bundle] - physical[s.bundle], 0) * s.qty
            listed = listed + np.bincount(s.component, weights=draw, minlength=ix.n_skus).astype(
                np.int64
            )
        tot = self.totals
        tot.stranded_units_end = float(np.maximum(physical - listed, 0).sum())
        tot.supply_end = float(physical.sum() + lst.presale.sum())
        tot.demand_rate_end = float(v.rate[-1][v.open_cell].sum())
