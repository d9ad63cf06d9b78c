"""The planner's way to demand: the snapshot's sales history (on its index) turned into
a velocity and a dispersion per cell. Velocity rows given in the snapshot win for their
cells; the estimate fills every other cell."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from engine.core.index import SnapshotIndex
from engine.demand.estimate import (
    DemandEstimate,
    DemandHistory,
    EstimatorSettings,
    estimate_demand,
)

F64 = NDArray[np.float64]


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


def use_history(index: SnapshotIndex, settings: EstimatorSettings | None = None) -> None:
    """Set the index's velocity and dispersion from its history (`velocity_for`): what
    the planner calls once the index is built, before the rules compile."""
    index.velocity, index.dispersion = velocity_for(index, settings)
