"""One replication of a variant as it plays: the state, the re-plans, and each day up to
its trade (market.py), on what `prepared.prepare` built once for the variant. The model
is described in simulate.py.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np

from engine.core.errors import ConflictError
from engine.core.index import SnapshotIndex
from engine.scenarios.demand import demand
from engine.scenarios.history import SalesLedger, planner_demand, warmup_history
from engine.scenarios.kpis import Totals
from engine.scenarios.listing import I64, Listing, incumbent_plan, omnistock_listing
from engine.scenarios.market import trade
from engine.scenarios.prepared import PreparedVariant, Trace
from engine.scenarios.stock import Stock, derive_supply, per_sku, with_stock


class Replication:
    """The state of one replication as it plays."""

    def __init__(self, v: PreparedVariant, replication: int, trace: bool) -> None:
        self.v = v
        self.replication = replication
        ix = v.index
        self.stock = Stock(ix, v.supply0)
        self.demand = demand(v.rate, v.keys, v.settings.seed, replication)
        self.ledger = self._new_ledger() if v.velocity_source != "true" else None
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

    def _new_ledger(self) -> SalesLedger:
        v, s = self.v, self.v.settings
        units, censored = warmup_history(
            v.index, v.keys, v.supply0.physical, s.seed, self.replication, s.warmup_days
        )
        return SalesLedger(units, censored, v.days)

    # --- planning -------------------------------------------------------------------

    def _plan_index(self, t: int) -> SnapshotIndex:
        v, ix = self.v, self.v.index
        listed = ix.listed if self.listing is None else self.listing.per_cell(ix.cell_sku)
        day = with_stock(
            ix, self.stock.on_hand.copy(), self.stock.locked.copy(), ix.as_of + timedelta(days=t)
        )
        velocity, dispersion = planner_demand(v.velocity_source, ix, self.ledger)
        return replace(
            day, velocity=velocity * v.plan_factor[t], dispersion=dispersion, listed=listed
        )

    def _make_listing(self, t: int) -> Listing:
        v = self.v
        # Day 0 is the same in every replication, unless the planner learns demand from
        # the replication's own warm-up.
        if t == 0 and v.day0 is not None:
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
        if t == 0 and self.ledger is None:
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
        accepted = trade(self, t)
        if self.ledger is not None:
            # A listing that shows nothing at the end of the day ran out: demand was at
            # least what it sold (closed shops, listed at 0, record 0 censored).
            ran_out = self.listing.per_cell(ix.cell_sku) == 0
            self.ledger.record(accepted, ran_out, v.plan_factor[t] != 1.0)

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
        tot.unsold_units_end = float(physical.sum())
        tot.supply_end = float(physical.sum() + lst.presale.sum())
        tot.demand_rate_end = float(v.rate[-1][v.open_cell].sum())
