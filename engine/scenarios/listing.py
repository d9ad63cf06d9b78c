"""Listings: what a plan publishes, as the simulation consumes it (simulate.py, step 2).

omnistock's plan and the incumbents' formula each become a Listing of the same shape, so
the day's trade (market.py) sells from either alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from engine.core.index import SnapshotIndex
from engine.core.modes import Mode
from engine.planning.planner import run_planner
from engine.planning.post import finish
from engine.scenarios.incumbent import incumbent_listing
from engine.scenarios.spec import IncumbentPolicy
from engine.scenarios.stock import derive_supply
from rules.catalog import Ruleset

I64 = NDArray[np.int64]
Mask = NDArray[np.bool_]


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


def omnistock_listing(
    index: SnapshotIndex, ruleset: Ruleset, mode: Mode, time_limit_s: float = 60.0
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
        presale=c.provenance.virtual.astype(np.int64),
        pool=(c.provenance.sellable + c.provenance.virtual).astype(np.int64),
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
