"""The estimator's interface holds its contract: shapes, and what censoring means."""

from __future__ import annotations

import numpy as np

from engine.demand import DemandHistory, estimate_demand, naive_rate


def _history(units: list[list[int]], censored: list[list[bool]], shops: int = 1) -> DemandHistory:
    cells = len(units)
    return DemandHistory(
        units=np.array(units, dtype=np.int64),
        censored=np.array(censored, dtype=bool),
        cell_sku=np.arange(cells, dtype=np.int64) // shops,
        cell_shop=np.arange(cells, dtype=np.int64) % shops,
        sku_category=np.zeros((cells + shops - 1) // shops, dtype=np.int64),
        n_shops=shops,
    )


def test_shapes_and_counts() -> None:
    history = _history([[1, 2, 0, 3], [0, 0, 0, 0]], [[False, False, True, False]] * 2)
    estimate = estimate_demand(history)
    for array in (estimate.rate, estimate.dispersion, estimate.rate_sd):
        assert array.shape == (2,)
    assert estimate.observed_days.tolist() == [3, 3]
    assert estimate.censored_days.tolist() == [1, 1]


def test_naive_rate_counts_stockout_days_as_sold() -> None:
    history = _history([[4, 4, 0, 0]], [[False, False, True, True]])
    assert naive_rate(history, days=4).tolist() == [2.0]
    assert naive_rate(history, days=2).tolist() == [0.0]
