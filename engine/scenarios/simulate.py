"""The simulator: plays one scenario variant day by day and measures it (kpis.py).

Per replication, over `horizon_days` days:

1. Demand per (SKU, shop) cell and day is drawn up front (demand.py): seeded Poisson
   around velocity x the uplifts of the day; it never depends on the plan.
2. Each day: arrivals add on-hand units at its start; on day 0 and every
   `replan_every_days` after it, the planner makes a new plan from that day's state:
   stock as it is (shipped units gone, arrivals in), `as_of` moved forward by the days
   elapsed (windowed rules switch on and off), `listed` = the listings in force, velocity
   x the planned uplifts of that day. omnistock: rules/compile + engine/solve + post
   (`run_planner`), in `inputs.mode`; incumbents: their formula (incumbent.py), re-synced
   at the same cadence. A closed shop lists nothing whatever the plan says.
3. Each cell's demand meets its listing: the exclusive quantity first, then the SKU's
   shared part (one pool on several shops: a sale from it lowers it everywhere), shops of
   one SKU served in cell order (shop priority, then id). Accepted orders are shipped
   from the physical stock in the warehouses the shop reaches, then from the plan's
   presale units; orders beyond both are oversold: counted, never shipped. Bundles sell
   their own stock first, then are made from `qty` of each component (bundle rows as the
   ruleset's `bundle` rules leave them), then presale. Plain SKUs are served before
   bundles on each day.
4. Physical stock lives in the snapshot's stock buckets per SKU and warehouse (stock.py):
   a shipped unit leaves `on_hand` in a warehouse the selling shop reaches, the one the
   fewest of the SKU's shops reach first (so a restricted shop's warehouse is used last
   by the others), and a re-plan sees each warehouse as it is.

Everything is vectorised over cells; the only Python loops are over days, warehouses,
and the bundles that sold on a day.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta

import numpy as np
from numpy.typing import NDArray

from engine.errors import ConflictError
from engine.index import SnapshotIndex
from engine.planner import run_planner
from engine.post import finish
from engine.scenarios.demand import cell_keys, demand, uplift_factors
from engine.scenarios.incumbent import incumbent_listing
from engine.scenarios.kpis import Totals, summarise
from engine.scenarios.spec import (
    IncumbentPolicy,
    SimulationSettings,
    VariantInputs,
    VariantResult,
)
from engine.scenarios.stock import (
    Stock,
    Supply,
    cumulative,
    derive_supply,
    per_sku,
    take_in_order,
    take_items,
    with_stock,
)
from rules.catalog import Ruleset

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
Mask = NDArray[np.bool_]
Progress = Callable[[int, int], None]


@dataclass
class Listing:
    """What a plan publishes, as the simulation consumes it."""

    exclusive: I64  # per cell
    shared: I64  # per SKU: the shared part
    access: Mask  # per cell: the shop shows the SKU's shared part
    presale: I64  # per SKU: units beyond stock the plan may sell
    pool: I64  # per SKU: the pool the plan started from (sellable + presale)

    def per_cell(self, cell_sku: I64) -> I64:
        return self.exclusive + np.where(self.access, self.shared[cell_sku], 0)

    def copy(self) -> Listing:
        return Listing(
            self.exclusive.copy(),
            self.shared.copy(),
            self.access.copy(),
            self.presale.copy(),
            self.pool.copy(),
        )


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


def omnistock_listing(
    index: SnapshotIndex, ruleset: Ruleset, mode: str, time_limit_s: float = 60.0
) -> Listing:
    """omnistock's plan of the index, as listings: the solve, then the post step, exactly
    as `make_plan` assembles its allocations (quantity = exclusive, shared per SKU)."""
    outcome = run_planner(index, ruleset, mode, None, time_limit_s)
    c = outcome.compiled
    exclusive = finish(c.problem, outcome.solved.x, c.post, index.listed).x
    return Listing(
        exclusive=np.asarray(exclusive, dtype=np.int64).copy(),
        shared=np.asarray(outcome.solved.shared, dtype=np.int64).copy(),
        access=np.asarray(c.problem.in_shared, dtype=bool).copy(),
        presale=c.draft.virtual.astype(np.int64),
        pool=(c.draft.sellable + c.draft.virtual).astype(np.int64),
    )


def incumbent_plan(
    index: SnapshotIndex,
    ruleset: Ruleset,
    policy: IncumbentPolicy,
    closed_shops: frozenset[str] = frozenset(),
) -> Listing:
    """The incumbents' listings of the index (incumbent.py), as the simulation reads them."""
    supply = derive_supply(index, ruleset)
    found = incumbent_listing(index, ruleset, policy, closed_shops, supply)
    return Listing(
        exclusive=found.listing,
        shared=np.zeros(index.n_skus, dtype=np.int64),
        access=np.zeros(index.n_cells, dtype=bool),
        presale=supply.virtual.copy(),
        pool=supply.pool_sellable + supply.virtual,
    )


@dataclass
class _Variant:
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


def _prepare(inputs: VariantInputs, settings: SimulationSettings, limit: float) -> _Variant:
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
    return _Variant(
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


class _Replication:
    """The state of one replication as it plays."""

    def __init__(self, v: _Variant, replication: int, trace: bool) -> None:
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
        self._trade(t)

    def _trade(self, t: int) -> None:
        v, ix, tr, lst, stock = self.v, self.v.index, self.trace, self.listing, self.stock
        assert lst is not None
        n_s = ix.n_skus
        wanted = self.demand[t]
        open_demand = np.where(v.open_cell, wanted, 0)
        at = np.flatnonzero(open_demand > 0)  # cells with demand, in cell order
        d = open_demand[at]
        sku = ix.cell_sku[at]
        # Listings: exclusive units first, then the shared part in cell order.
        acc = np.minimum(d, lst.exclusive[at])
        lst.exclusive[at] -= acc
        share = np.flatnonzero(lst.access[at] & (acc < d))
        if share.size:
            got = take_in_order(sku[share], d[share] - acc[share], lst.shared)
            acc[share] += got
            lst.shared -= per_sku(sku[share], got, n_s)
        # Supply: physical stock in the warehouses the shop reaches, then presale units;
        # beyond both, oversold.
        shipped = np.zeros_like(acc)
        left_after = np.zeros_like(acc)  # supply the cell's shop reaches after its orders
        consumed = np.zeros(n_s, dtype=np.int64)
        presold = np.zeros(n_s, dtype=np.int64)
        plain = np.flatnonzero(~v.is_bundle[sku])
        if plain.size:
            p_sku = sku[plain]
            served = stock.serve(at[plain], p_sku, acc[plain])
            pre = take_in_order(p_sku, acc[plain] - served.taken, lst.presale)
            presale_left = lst.presale[p_sku] - cumulative(p_sku, pre)
            lst.presale -= per_sku(p_sku, pre, n_s)
            shipped[plain] = served.taken + pre
            left_after[plain] = served.left + presale_left
            consumed += per_sku(p_sku, served.taken, n_s)
            presold += per_sku(p_sku, pre, n_s)
        for p in np.flatnonzero(v.is_bundle[sku]):
            self._sell_bundle(int(p), at, sku, acc, shipped, left_after, consumed, presold)
        refused = d - acc
        prevented = refused - np.minimum(refused, left_after)
        # Avoidable: lost while physical stock the shop reaches sat unsold at day's end.
        lost_at = np.flatnonzero(refused > 0)
        cap = self._reachable_end(at[lost_at], sku[lost_at])
        avoidable = np.zeros_like(acc)
        avoidable[lost_at] = take_items(sku[lost_at], refused[lost_at], cap)
        physical_end = stock.physical

        closed_lost = wanted - open_demand
        shop = ix.cell_shop[at]
        oversold = acc - shipped
        tot = self.totals
        tot.units_sold += float(shipped.sum())
        tot.revenue += float((shipped * v.price[sku]).sum())
        tot.presold += float(presold.sum())
        tot.lost_sales += float(refused.sum() + closed_lost.sum())
        tot.avoidable_lost_sales += float(avoidable.sum())
        tot.units_oversold += float(oversold.sum())
        tot.oversell_attempts_prevented += float(prevented.sum())
        n_h = ix.n_shops
        tot.sold_by_shop_day[t] = np.bincount(shop, weights=shipped, minlength=n_h)
        tot.lost_by_shop_day[t] = np.bincount(shop, weights=refused, minlength=n_h)
        tot.lost_by_shop_day[t] += np.bincount(ix.cell_shop, weights=closed_lost, minlength=n_h)
        if tr is not None:
            tr.accepted[t, at] = acc
            tr.shipped[t, at] = shipped
            tr.oversold[t, at] = oversold
            tr.refused[t] = closed_lost
            tr.refused[t, at] += refused
            tr.prevented[t, at] = prevented
            tr.avoidable[t, at] = avoidable
            tr.sold[t] = consumed
            tr.presold[t] = presold
            tr.left[t] = physical_end

    def _sell_bundle(
        self,
        p: int,
        at: I64,
        sku: I64,
        acc: I64,
        shipped: I64,
        left_after: I64,
        consumed: I64,
        presold: I64,
    ) -> None:
        """One bundle cell's orders of the day: the bundle's own stock, then bundles made
        from components (`qty` each, from the warehouses the shop reaches), then presale.

        A shop that misses some warehouse lists a bundle only up to its own stock (the
        compile step's rule), so a shop that can make bundles leaves the own units those
        shops still list for them, and makes bundles first; it takes them only when the
        components run short."""
        v, stock, lst = self.v, self.stock, self.listing
        assert lst is not None
        b, cell, one = int(sku[p]), at[p : p + 1], sku[p : p + 1]
        comps, qty = v.bundle_rows[b]
        want = int(acc[p])
        keep = 0
        if not v.restricted_cell[at[p]]:
            # what those shops may still sell: their listings, and today's orders of the
            # ones served after this cell
            others = v.restricted_bundle_cells.get(b, np.zeros(0, dtype=np.int64))
            if others.size:
                keep = int(lst.exclusive[others].sum())
                keep += int(lst.shared[b]) if lst.access[others].any() else 0
                later = np.arange(p + 1, np.searchsorted(sku, b, side="right"))
                keep += int(acc[later][v.restricted_cell[at[later]]].sum())
        free = max(0, int(stock.reachable(cell, one)[0]) - keep)
        got = int(stock.serve(cell, one, np.array([min(want, free)])).taken[0])
        made = min(want - got, self._can_make(int(at[p]), b))
        if made > 0:
            stock.serve(np.full(comps.size, at[p]), comps, made * qty)
            consumed[comps] += made * qty
        if want - got - made > 0:  # the components ran short: the kept own units
            got += int(stock.serve(cell, one, np.array([want - got - made])).taken[0])
        consumed[b] += got
        pre = min(want - got - made, int(lst.presale[b]))
        lst.presale[b] -= pre
        presold[b] += pre
        shipped[p] = got + made + pre
        left_after[p] = int(stock.reachable(cell, one)[0])
        left_after[p] += self._can_make(int(at[p]), b) + int(lst.presale[b])

    def _can_make(self, cell: int, b: int) -> int:
        """Bundles the components in the warehouses the cell's shop reaches could make."""
        comps, qty = self.v.bundle_rows[b]
        if comps.size == 0:
            return 0
        there = self.stock.reachable(np.full(comps.size, cell), comps)
        return int((there // qty).min())

    def _reachable_end(self, cells: I64, sku: I64) -> I64:
        """Per item: physical units (bundles: own plus what components make) the cell's
        shop reaches."""
        cap = self.stock.reachable(cells, sku)
        for k in np.flatnonzero(self.v.is_bundle[sku]):
            cap[k] += self._can_make(int(cells[k]), int(sku[k]))
        return cap

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


def simulate_traced(
    inputs: VariantInputs,
    settings: SimulationSettings,
    progress: Progress | None = None,
    time_limit_s: float = 60.0,
    trace: bool = True,
) -> tuple[VariantResult, list[Trace]]:
    """`simulate`, plus each replication's day-by-day ledger when `trace`."""
    started = time.perf_counter()
    v = _prepare(inputs, settings, time_limit_s)
    total = v.days * settings.replications
    done = 0
    results: list[Totals] = []
    traces: list[Trace] = []
    plans = 0
    for r in range(settings.replications):
        rep = _Replication(v, r, trace)
        for t in range(v.days):
            rep.day(t)
            done += 1
            if progress is not None:
                progress(done, total)
        rep.finish()
        results.append(rep.totals)
        plans = max(plans, rep.plans)
        if rep.trace is not None:
            traces.append(rep.trace)
    result = summarise(
        inputs.name,
        inputs.planner,
        inputs.mode,
        v.index.shop_ids,
        results,
        plans,
        round(time.perf_counter() - started, 4),
        v.warnings,
    )
    return result, traces


def simulate(
    inputs: VariantInputs,
    settings: SimulationSettings,
    progress: Progress | None = None,
    time_limit_s: float = 60.0,
) -> VariantResult:
    """Play one variant over the horizon, `settings.replications` times, and measure it
    (the KPIs of kpis.py: means over the replications, and their standard deviations)."""
    return simulate_traced(inputs, settings, progress, time_limit_s, trace=False)[0]
