"""The simulator: plays one scenario variant day by day and measures it (kpis.py).

Per replication, over `horizon_days` days:

1. Demand per (SKU, shop) cell and day is drawn up front (demand.py): seeded Poisson
   around velocity x the uplifts of the day; it never depends on the plan.
2. Each day: arrivals add on-hand units at its start; on day 0 and every
   `replan_every_days` after it, the planner makes a new plan from that day's state:
   stock as it is (shipped units gone, arrivals in), `as_of` moved forward by the days
   elapsed (windowed rules switch on and off), `listed` = the listings in force, and the
   velocity the planner knows x the planned uplifts of that day: the true means, or under
   `demand_knowledge: history` what it learns from the recorded sales (history.py).
   omnistock: rules/compile + engine/solve + post (`run_planner`), in `inputs.mode`;
   incumbents: their formula (incumbent.py), re-synced at the same cadence. A closed
   shop lists nothing whatever the plan says.
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

The code: this module runs the replications and measures them; listing.py turns
plans into listings and history.py keeps the sales a planner learns demand from (step
2), prepared.py builds what the replications share, replication.py plays one
replication day by day, and market.py is the day's trade (steps 3-4).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from engine.core.index import SnapshotIndex
from engine.scenarios.kpis import Totals, summarise
from engine.scenarios.listing import Listing, incumbent_plan, omnistock_listing
from engine.scenarios.prepared import Trace, prepare
from engine.scenarios.replication import Replication
from engine.scenarios.spec import SimulationSettings, VariantInputs, VariantResult

__all__ = [
    "Listing",
    "Progress",
    "Trace",
    "incumbent_plan",
    "omnistock_listing",
    "simulate",
    "simulate_traced",
]

Progress = Callable[[int, int], None]


def simulate_traced(
    inputs: VariantInputs,
    settings: SimulationSettings,
    progress: Progress | None = None,
    time_limit_s: float = 60.0,
    trace: bool = True,
    index: SnapshotIndex | None = None,
) -> tuple[VariantResult, list[Trace]]:
    """`simulate`, plus each replication's day-by-day ledger when `trace`."""
    started = time.perf_counter()
    v = prepare(inputs, settings, time_limit_s, index)
    total = v.days * settings.replications
    done = 0
    results: list[Totals] = []
    traces: list[Trace] = []
    plans = 0
    for r in range(settings.replications):
        rep = Replication(v, r, trace)
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
    if inputs.planner == "omnistock":
        result.planner_velocity = v.velocity_source
    return result, traces


def simulate(
    inputs: VariantInputs,
    settings: SimulationSettings,
    progress: Progress | None = None,
    time_limit_s: float = 60.0,
    index: SnapshotIndex | None = None,
) -> VariantResult:
    """Play one variant over the horizon, `settings.replications` times, and measure it
    (the KPIs of kpis.py: means over the replications, and their standard deviations).
    `index` is the snapshot's, when the caller has it (the snapshot is then not read)."""
    return simulate_traced(inputs, settings, progress, time_limit_s, False, index)[0]
