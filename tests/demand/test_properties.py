"""Invariants of the estimator on random histories: finite, non-negative, deterministic,
and blind to the order the cells come in."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.core.limits import MAX_UNITS, MAX_VELOCITY
from engine.demand import DemandHistory, EstimatorSettings, estimate_demand


@st.composite
def histories(draw: st.DrawFn) -> DemandHistory:
    skus = draw(st.integers(1, 6))
    shops = draw(st.integers(1, 3))
    days = draw(st.integers(1, 20))
    cells = skus * shops
    top = draw(st.sampled_from([3, 40, MAX_UNITS]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    units = rng.integers(0, top + 1, (cells, days))
    units[rng.random((cells, days)) < 0.4] = 0
    censored = rng.random((cells, days)) < draw(st.sampled_from([0.0, 0.3, 0.9, 1.0]))
    return DemandHistory(
        units=units.astype(np.int64),
        censored=censored,
        cell_sku=np.repeat(np.arange(skus, dtype=np.int64), shops),
        cell_shop=np.tile(np.arange(shops, dtype=np.int64), skus),
        sku_category=rng.integers(0, draw(st.integers(1, 3)), skus).astype(np.int64),
        n_shops=shops,
    )


SETTINGS = st.sampled_from(
    [
        EstimatorSettings(),
        EstimatorSettings(shrink=False),
        EstimatorSettings(prior_days=0.0),
        EstimatorSettings(prior_days=5.0, half_life_days=np.inf),
    ]
)


@settings(max_examples=200, deadline=None)
@given(history=histories(), chosen=SETTINGS)
def test_estimates_are_finite_and_deterministic(
    history: DemandHistory, chosen: EstimatorSettings
) -> None:
    first = estimate_demand(history, chosen)
    again = estimate_demand(history, chosen)
    assert np.isfinite(first.rate).all()
    assert ((first.rate >= 0) & (first.rate <= MAX_VELOCITY)).all()
    assert np.isfinite(first.rate_sd).all() and (first.rate_sd >= 0).all()
    assert (first.dispersion > 0).all() and not np.isnan(first.dispersion).any()
    assert (first.observed_days + first.censored_days == history.n_days).all()
    for name in ("rate", "rate_sd", "dispersion", "observed_days", "censored_days"):
        assert np.array_equal(getattr(first, name), getattr(again, name)), name


@settings(max_examples=200, deadline=None)
@given(history=histories(), chosen=SETTINGS, seed=st.integers(0, 2**32 - 1))
def test_cell_order_does_not_matter(
    history: DemandHistory, chosen: EstimatorSettings, seed: int
) -> None:
    order = np.random.default_rng(seed).permutation(history.n_cells)
    shuffled = DemandHistory(
        units=history.units[order],
        censored=history.censored[order],
        cell_sku=history.cell_sku[order],
        cell_shop=history.cell_shop[order],
        sku_category=history.sku_category,
        n_shops=history.n_shops,
    )
    a, b = estimate_demand(history, chosen), estimate_demand(shuffled, chosen)
    # Sums over cells are added in another order: equal up to rounding.
    np.testing.assert_allclose(a.rate[order], b.rate, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a.rate_sd[order], b.rate_sd, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a.dispersion[order], b.dispersion, rtol=1e-9)
    assert np.array_equal(a.censored_days[order], b.censored_days)
