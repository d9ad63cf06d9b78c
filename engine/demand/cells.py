"""The planner's way to demand: the snapshot's sales history (on its index) turned into
a velocity and a dispersion per cell. Velocity rows given in the snapshot win for their
cells; the estimate fills every other cell."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from engine.core.index import SnapshotIndex
from engine.demand.estimate import (
    DemandEstimate,
    DemandHistory,
    EstimatorSettings,
    estimate_demand,
    naive_rate,
)

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def history_of(index: SnapshotIndex) -> DemandHistory | None:
    """The index's sales history as the estimator reads it (None: the snapshot has none)."""
    if index.history is None:
        return None
    return DemandHistory(
        units=index.history.units,
        censored=index.history.censored,
        cell_sku=index.cell_sku,
        cell_shop=index.cell_shop,
        sku_category=index.sku_category,
        n_shops=index.n_shops,
    )


def estimate_of(
    index: SnapshotIndex, settings: EstimatorSettings | None = None
) -> DemandEstimate | None:
    """The estimate of every cell from the index's history (None: no history)."""
    history = history_of(index)
    return None if history is None else estimate_demand(history, settings)


def velocity_for(
    index: SnapshotIndex,
    settings: EstimatorSettings | None = None,
    estimate: DemandEstimate | None = None,
) -> tuple[F64, F64]:
    """(velocity, dispersion) per cell: the snapshot's velocity rows where it has them,
    the history's estimate elsewhere; the index's own arrays when it has no history.
    `estimate`: one already made of this index (not made again)."""
    if estimate is None:
        estimate = estimate_of(index, settings)
    if estimate is None:
        return index.velocity, index.dispersion
    given = index.velocity_given
    velocity = np.where(given, index.velocity, estimate.rate)
    dispersion = np.where(given, index.dispersion, estimate.dispersion)
    return velocity, dispersion


def with_history(index: SnapshotIndex, settings: EstimatorSettings | None = None) -> SnapshotIndex:
    """The index the planner plans with: itself when the snapshot has no history, else a
    copy whose velocity and dispersion are `velocity_for`'s (a copy: indexes may be
    shared, read-only, between plans). An index it made is returned as it is."""
    if index.history is None or index.demand_estimated:
        return index
    velocity, dispersion = velocity_for(index, settings)
    return replace(index, velocity=velocity, dispersion=dispersion, demand_estimated=True)


SOURCES = ("velocity", "history", "category", "none")


@dataclass(frozen=True)
class Forecast:
    """Per cell what the planner uses and where it comes from: `source` codes into
    SOURCES - velocity (a snapshot row), history (the cell's own days, shrunk), category
    (no days of its own: the prior alone), none (no velocity row and no history)."""

    rate: F64
    rate_sd: F64  # 0 for velocity rows (given, not estimated)
    dispersion: F64
    source: I64
    history_days: I64  # days the snapshot's history row covers
    units_sold: I64  # units sold over those days
    observed_days: I64  # days not censored
    censored_days: I64  # days the listing ran out (covered days only)
    naive: F64  # mean units sold over the last 14 days (stockouts as zeros)
    prior_days: float


def forecast(index: SnapshotIndex, settings: EstimatorSettings | None = None) -> Forecast:
    """The velocity and dispersion `velocity_for` gives the planner, with their story."""
    n = index.n_cells
    given = index.velocity_given
    history = history_of(index)
    if history is None or index.history is None:
        zeros = np.zeros(n, dtype=np.int64)
        source = np.where(given, 0, 3)
        return Forecast(
            index.velocity, np.zeros(n), index.dispersion, source, zeros, zeros, zeros,
            zeros, np.zeros(n), 0.0,
        )  # fmt: skip
    estimate = estimate_demand(history, settings)
    velocity, dispersion = velocity_for(index, settings, estimate)
    covered = index.history.covered
    # Days beyond a row's reach count as censored at 0 (no information), not stockouts.
    uncovered = history.n_days - covered
    return Forecast(
        rate=velocity,
        rate_sd=np.where(given, 0.0, estimate.rate_sd),
        dispersion=dispersion,
        source=np.where(given, 0, np.where(covered > 0, 1, 2)),
        history_days=covered,
        units_sold=history.units.sum(axis=1),
        observed_days=estimate.observed_days,
        censored_days=estimate.censored_days - uncovered,
        naive=naive_rate(history),
        prior_days=estimate.prior_days,
    )
