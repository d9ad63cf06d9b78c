"""The estimator: unbiased under censoring where the naive average is not, better than
the naive average on the simulated market, censoring at 0 the same as no day, the
shrinkage where it should act and nowhere else, and the EM fixed point itself."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.stats import poisson

from engine.core.limits import MAX_UNITS
from engine.demand import EstimatorSettings, estimate_demand, naive_rate
from engine.demand.censored import censored_rates
from engine.demand.simulate import Market, simulate
from engine.demand.sums import day_sums, day_weights
from tests.demand.builders import history

OWN = EstimatorSettings(shrink=False, half_life_days=np.inf)


def test_censored_poisson_is_recovered_without_bias() -> None:
    # 4,000 cells of one rate, listings drawn 0..4 a day: about half the days sell out.
    # Pooled over 240,000 days the mean estimate has a standard error near
    # sqrt(2 / 120,000) = 0.004; 0.02 is five of them. The naive average is biased by
    # the stockouts to E[min(D, L)] = 1.34, far outside.
    rng = np.random.default_rng(11)
    cells, days, rate = 4000, 60, 2.0
    demand = rng.poisson(rate, (cells, days))
    listed = rng.integers(0, 5, (cells, days))
    sold = np.minimum(demand, listed)
    h = history(sold, sold >= listed)
    own = estimate_demand(h, OWN).rate
    assert abs(own.mean() - rate) < 0.02
    assert abs(naive_rate(h, days).mean() - rate) > 0.5


def test_beats_the_naive_average_on_the_simulated_market() -> None:
    # At 1M cells the bench measures MAE ratios 0.53 (EM) and 0.51 (full) to the naive
    # average; 20,000 cells leave the MAE a sampling error of a few per cent, so 0.7
    # fails only if the estimator really lost most of its edge.
    sim = simulate(20_000, 90, seed=5)
    truth = sim.true_rate

    def mae(rate: np.ndarray) -> float:
        return float(np.abs(rate - truth).mean())

    naive = mae(naive_rate(sim.history))
    own = mae(estimate_demand(sim.history, EstimatorSettings(shrink=False)).rate)
    full = mae(estimate_demand(sim.history).rate)
    assert own < 0.7 * naive
    assert full < own


def test_shrinkage_helps_most_on_short_histories() -> None:
    # Measured at 100,000 cells: 14 days, MAE 0.083 (EM alone) -> 0.072 (full).
    sim = simulate(20_000, 14, seed=6)
    truth = sim.true_rate
    own = estimate_demand(sim.history, EstimatorSettings(shrink=False)).rate
    full = estimate_demand(sim.history).rate
    assert np.abs(full - truth).mean() < 0.95 * np.abs(own - truth).mean()


@pytest.mark.parametrize("settings", [EstimatorSettings(), OWN, EstimatorSettings(prior_days=3)])
def test_a_day_censored_at_zero_is_no_day(settings: EstimatorSettings) -> None:
    # Older days, censored with no sales, put in front: every estimate the same.
    sim = simulate(2000, 30, seed=2, market=Market(out_start=0.2, short=0.3))
    h = sim.history
    padded = history(
        np.hstack([np.zeros((h.n_cells, 10), dtype=np.int64), h.units]),
        np.hstack([np.ones((h.n_cells, 10), dtype=bool), h.censored]),
        shops=h.n_shops,
        categories=h.sku_category,
    )
    a, b = estimate_demand(h, settings), estimate_demand(padded, settings)
    np.testing.assert_allclose(a.rate, b.rate, rtol=1e-12)
    np.testing.assert_allclose(a.rate_sd, b.rate_sd, rtol=1e-12)
    np.testing.assert_allclose(a.dispersion, b.dispersion, rtol=1e-12)
    assert a.prior_days == pytest.approx(b.prior_days, rel=1e-12)
    assert (a.observed_days == b.observed_days).all()


def _two_shop_market(sparse_days: int) -> tuple[np.ndarray, np.ndarray, float]:
    """300 SKUs on two shops with an even mix on average, rates lognormal (median 2, as
    SKUs differ, and each shop of a SKU off the SKU's rate by a factor, sd 0.5 in logs),
    90 days; SKU 0 sells 2 a day on shop 0, and on shop 1 is seen on its last
    `sparse_days` days only (the rest censored at 0), where it sold 6 a day. Also the
    rate of SKU 0 on shop 0 (its prior on shop 1, the mix being even)."""
    rng = np.random.default_rng(3)
    rates = np.repeat(2.0 * np.exp(0.8 * rng.standard_normal(300)), 2)
    rates *= np.exp(0.5 * rng.standard_normal(600))
    rates[:2] = 2.0
    units = rng.poisson(rates[:, None], (600, 90))
    censored = np.zeros((600, 90), dtype=bool)
    units[1, :] = 0
    censored[1, :] = True
    units[1, -sparse_days:] = 6
    censored[1, -sparse_days:] = False
    return units, censored, float(units[0].mean())


def _moved(sparse_days: int, settings: EstimatorSettings) -> float:
    """The share of the gap between the cell's own estimate and its prior that the
    shrinkage closes: k / (k + N) in theory, N the cell's weighted days (about 1.98 for
    the last 2 days, 36 for 90 days at a 28-day half-life)."""
    units, censored, prior = _two_shop_market(sparse_days)
    h = history(units, censored, shops=2)
    own = estimate_demand(h, EstimatorSettings(shrink=False)).rate[1]
    assert own == pytest.approx(6.0)
    shrunk = estimate_demand(h, settings).rate[1]
    return float((own - shrunk) / (own - prior))


def test_shrinkage_pulls_a_sparse_cell_and_leaves_a_rich_one() -> None:
    # 4 pseudo-days: 4 / 5.98 = 0.67 of the way for 2 days, 4 / 40 = 0.10 for 90 days
    # (the prior mean is SKU 0's recency-weighted rate on shop 0, near its plain mean).
    four = EstimatorSettings(prior_days=4.0)
    assert _moved(2, four) > 0.6
    assert _moved(90, four) < 0.12
    # Fitted strength: 2 days move (k + 36) / (k + 1.98) times as far as 90 days do, at
    # least 10 times for k < 1.8, which a market whose shops of one SKU sell a factor
    # e**0.5 apart should get (its relative spread alone is 0.6: k ~ 1 / (0.6 m)).
    units, censored, _ = _two_shop_market(2)
    assert estimate_demand(history(units, censored, shops=2)).prior_days < 1.8
    fitted = EstimatorSettings()
    assert _moved(2, fitted) > 10 * _moved(90, fitted) > 0


def test_no_prior_days_is_no_shrinkage() -> None:
    sim = simulate(3000, 30, seed=4)
    none = estimate_demand(sim.history, EstimatorSettings(prior_days=0.0))
    own = estimate_demand(sim.history, EstimatorSettings(shrink=False))
    seen = (none.observed_days > 0) & np.isfinite(own.rate)
    np.testing.assert_allclose(none.rate[seen], own.rate[seen], rtol=1e-9)


def test_a_new_sku_gets_its_category_per_shop_mean() -> None:
    # SKUs 0..99 on two shops at rates 1 and 3; SKU 100 has no history at all.
    rng = np.random.default_rng(8)
    units = np.concatenate([rng.poisson(r, (1, 90)) for _ in range(100) for r in (1.0, 3.0)])
    units = np.vstack([units, np.zeros((2, 90), dtype=np.int64)])
    censored = np.zeros(units.shape, dtype=bool)
    censored[-2:] = True
    estimate = estimate_demand(
        history(units, censored, shops=2), EstimatorSettings(half_life_days=np.inf)
    )
    assert estimate.rate[-2] == pytest.approx(units[:-2:2].mean(), rel=1e-9)
    assert estimate.rate[-1] == pytest.approx(units[1:-2:2].mean(), rel=1e-9)


def _plain_em(s_units: list[list[int]], cens: list[list[bool]], k: float, m: float) -> float:
    """EM for one cell written out with scipy.stats, iterated to convergence."""
    units, censored = np.array(s_units[0], float), np.array(cens[0])
    rate = 1.0
    for _ in range(100_000):
        tail = poisson.sf(units - 1, rate)  # P(D >= s)
        expected = np.where(censored, rate * poisson.sf(units - 2, rate) / tail, units)
        keep = ~censored | (units > 0)
        new = (k * m + expected[keep].sum()) / (k + keep.sum())
        if abs(new - rate) < 1e-13:
            return float(new)
        rate = new
    raise AssertionError("EM did not converge")


@pytest.mark.parametrize("seed", range(8))
def test_the_rate_is_the_fixed_point_of_plain_em(seed: int) -> None:
    rng = np.random.default_rng(seed)
    days = int(rng.integers(3, 15))
    demand = rng.poisson(rng.uniform(0.3, 6), days)
    listed = rng.integers(0, 8, days)
    sold = np.minimum(demand, listed)
    units, censored = [sold.tolist()], [(sold >= listed).tolist()]
    if not (~np.array(censored[0])).any():
        censored[0][0] = False
    k, m = float(rng.uniform(0, 4)), float(rng.uniform(0.1, 5))
    sums = day_sums(np.array(units), np.array(censored), day_weights(days, np.inf))
    rate = censored_rates(np.array([k]), np.array([k * m]), sums)[0]
    assert rate == pytest.approx(_plain_em(units, censored, k, m), rel=1e-8)


def test_extreme_units_stay_finite_without_warnings() -> None:
    units = [[MAX_UNITS, 0, MAX_UNITS, 1], [MAX_UNITS, MAX_UNITS, 0, 0], [0, 0, 0, 0]]
    censored = [[False, True, True, False], [True, True, True, True], [True, False, True, True]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(divide="raise", over="raise", invalid="raise"):
            for settings in (EstimatorSettings(), OWN):
                e = estimate_demand(history(units, censored, shops=3), settings)
                assert np.isfinite(e.rate).all() and (e.rate >= 0).all()
                assert np.isfinite(e.rate_sd).all()


@pytest.mark.parametrize("size", [0.5, 2.0, 10.0])
def test_overdispersion_is_measured(size: float) -> None:
    # 4 categories of 1,000 cells x 60 days, negative binomial of size r, means 0.5..5:
    # the pooled moment estimate of r per category (60,000 days) lies within 15%; over
    # 8 other seeds its largest error was 4% (r 0.5), 2% (r 2) and 6% (r 10).
    rng = np.random.default_rng(int(size * 10))
    cells, days = 4000, 60
    mean = rng.uniform(0.5, 5.0, cells)
    demand = rng.poisson(rng.gamma(size, mean[:, None] / size, (cells, days)))
    h = history(demand, np.zeros(demand.shape, dtype=bool), categories=np.arange(cells) % 4)
    found = estimate_demand(h).dispersion
    assert np.all(np.abs(found / size - 1) < 0.15), np.unique(found)


def test_poisson_days_show_no_overdispersion() -> None:
    # Poisson data: only chance excess, which the 3-sigma test leaves Poisson (a spurious
    # size in any of 50 categories has odds of about 1 in 700 each).
    rng = np.random.default_rng(12)
    cells, days = 5000, 60
    demand = rng.poisson(rng.uniform(0.05, 8.0, cells)[:, None], (cells, days))
    h = history(demand, np.zeros(demand.shape, dtype=bool), categories=np.arange(cells) % 50)
    assert np.isinf(estimate_demand(h).dispersion).all()
