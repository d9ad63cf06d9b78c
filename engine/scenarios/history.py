"""What a simulated planner knows of demand: the sales history the shops recorded, and
the velocity a planner takes from it (simulate.py, step 2).

Under `demand_knowledge: history` no planner is told the means the world draws from.
Each re-plan sees only

- a warm-up history of `warmup_days` days before day 0, drawn from the same demand
  process (the snapshot's velocity, Poisson, with the common random numbers of
  demand.py under a key of its own) and sold through the listings an agency would have
  had: every cell topped up once a week (each SKU on a weekday of its own) to an equal
  share of the SKU's day-0 physical stock. Shops that draw more than their share sell
  out before the next top-up, as they do under the incumbents' equal shares, so the
  warm-up has the stockouts real history has;
- then what the simulated shops sold on each day played so far.

A day's record per cell is the orders its listing accepted and whether the listing ran
out (its visible quantity was 0 at the end of the day, closed shops and listings of 0
included): on such a day demand was at least the sales, not equal to them (censored).

The variant's `planner_velocity` says what the planner makes of it: "true" (the world's
means: the oracle), "naive" (engine.demand.naive_rate: the last 14 days' mean sales,
stockout days as zeros) or "estimated" (engine.demand.estimate_demand, with its
dispersion). Every planner of a run, omnistock and incumbent, is handed the same index.
The planned uplifts of the re-plan's day multiply either, as they do the true means.
A day a planned uplift lifted a cell's demand (a campaign the planner knew of) is not
everyday demand: the estimator is shown it as censored at 0 units, which tells it
nothing (the day is left out); the naive average takes the sales as they were, as an
agency's spreadsheet does.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from engine.core.index import SnapshotIndex
from engine.demand.estimate import DemandHistory, estimate_demand, naive_rate
from engine.scenarios.demand import mix, poisson_quantile, uniforms
from engine.scenarios.spec import PlannerVelocity

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
Mask = NDArray[np.bool_]

RESTOCK_EVERY_DAYS = 7  # the warm-up's top-up cadence
_WARMUP_TAG = 0x7761726D  # "warm": the warm-up's key differs from every horizon key


def warmup_key(seed: int, replication: int) -> np.uint64:
    """The warm-up's key: a seed sequence of its own, so its draws share nothing with the
    horizon's (demand.replication_key)."""
    entropy = [seed % 2**64, replication % 2**64, _WARMUP_TAG]
    return np.uint64(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0])


def warmup_history(
    index: SnapshotIndex,
    keys: NDArray[np.uint64],
    physical: I64,
    seed: int,
    replication: int,
    days: int,
) -> tuple[I64, Mask]:
    """[cells, days] units sold and censored flags of the `days` days before day 0
    (oldest first), as the module docstring describes. `physical` is each SKU's day-0
    physical stock. Every shop of the index sold before day 0: a shop the variant closes
    closes on day 0, and one it opens is taken to have traded as the shop it is like."""
    n_c = index.n_cells
    units = np.zeros((n_c, days), dtype=np.int64)
    censored = np.zeros((n_c, days), dtype=bool)
    if days == 0 or n_c == 0:
        return units, censored
    rate = np.broadcast_to(index.velocity, (days, n_c))
    wanted = poisson_quantile(uniforms(keys, warmup_key(seed, replication), days), rate)
    shops_of_sku = np.bincount(index.cell_sku, minlength=index.n_skus)
    # An equal share of the SKU's stock per shop, the remainder one unit each to its
    # first shops (cell order), so a SKU with fewer units than shops still lists them.
    n = np.maximum(shops_of_sku[index.cell_sku], 1)
    first_cell = np.searchsorted(index.cell_sku, np.arange(index.n_skus))
    rank = np.arange(n_c) - first_cell[index.cell_sku]
    units_of_sku = physical[index.cell_sku]
    level = units_of_sku // n + (rank < units_of_sku % n)
    # Each SKU tops up on a weekday of its own (a hash of its first cell's key).
    first = np.minimum(first_cell, n_c - 1)
    weekday = (mix(keys[first]) % np.uint64(RESTOCK_EVERY_DAYS)).astype(np.int64)
    cell_weekday = weekday[index.cell_sku]
    listed = level.copy()
    for d in range(days):
        restock = (d % RESTOCK_EVERY_DAYS) == cell_weekday
        listed[restock] = level[restock]
        sold = np.minimum(wanted[d], listed)
        listed -= sold
        units[:, d] = sold
        censored[:, d] = listed == 0
    return units, censored


class SalesLedger:
    """One replication's recorded sales: the warm-up, then each simulated day as played."""

    def __init__(self, warmup_units: I64, warmup_censored: Mask, horizon_days: int) -> None:
        n_c, w = warmup_units.shape
        self.units = np.zeros((n_c, w + horizon_days), dtype=np.int64)
        self.censored = np.zeros((n_c, w + horizon_days), dtype=bool)
        self.lifted = np.zeros((n_c, w + horizon_days), dtype=bool)  # a planned uplift
        self.units[:, :w] = warmup_units
        self.censored[:, :w] = warmup_censored
        self.days = w  # days recorded so far

    def record(self, sold: I64, censored: Mask, lifted: Mask) -> None:
        """The day just played: per cell, orders accepted, whether the listing ran out,
        and whether a planned uplift raised its demand."""
        self.units[:, self.days] = sold
        self.censored[:, self.days] = censored
        self.lifted[:, self.days] = lifted
        self.days += 1

    def history(self, index: SnapshotIndex, everyday: bool = False) -> DemandHistory:
        """Everything recorded so far, as the estimator reads it (the last column is the
        day before the re-plan); `everyday`: the days planned uplifts lifted shown as
        censored at 0 (no information)."""
        units, censored = self.units[:, : self.days], self.censored[:, : self.days]
        if everyday:
            lifted = self.lifted[:, : self.days]
            units, censored = np.where(lifted, 0, units), censored | lifted
        return DemandHistory(
            units=units,
            censored=censored,
            cell_sku=index.cell_sku,
            cell_shop=index.cell_shop,
            sku_category=index.sku_category,
            n_shops=index.n_shops,
        )


def planner_demand(
    source: PlannerVelocity, index: SnapshotIndex, ledger: SalesLedger | None
) -> tuple[F64, F64]:
    """Per cell: the velocity (units/day, before planned uplifts) and the negative
    binomial dispersion (np.inf: Poisson) a planner is given."""
    poisson = np.full(index.n_cells, np.inf)
    if source == "true":
        return index.velocity, poisson
    assert ledger is not None, "a planner learning demand needs the sales ledger"
    if source == "naive":
        return np.asarray(naive_rate(ledger.history(index)), dtype=np.float64), poisson
    estimate = estimate_demand(ledger.history(index, everyday=True))
    return estimate.rate, estimate.dispersion
