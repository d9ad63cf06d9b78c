"""The `expected_sales` allocation: per SKU, the split of a pool over its cells that
sells the most units in expectation over a horizon.

A cell's demand over the horizon D is Poisson (mean = velocity x horizon) or, where the
cell is overdispersed, negative binomial with the same mean and size = dispersion x
horizon (a day's variance is rate + rate^2 / dispersion; the sum of independent days
adds their sizes). With x units listed the cell sells E[min(D, x)]; its k-th unit sells
with probability P(D >= k), which falls as k grows, so expected sales are concave in x
and the sum over cells is separable concave. Taking units in order of that marginal
gain (greedy) is then exact.

The greedy is not run unit by unit: a cell takes every unit whose gain is above a level
g, that is n(g) = min{j : P(D <= j) >= 1 - g} units (the distribution's quantile at
1 - g), so one common level per SKU is found by bisection for all SKUs at once, as
rules/arith.py's water-filling finds one level per SKU. Once few units lie between a
SKU's two bracketing levels, those units are ordered by their own gains (equal gains by
cell order: shop rank, then id) and the SKU's last units taken from the top.

Units whose gain is below GAIN_FLOOR (no cell is expected to sell them) are left
untargeted: the compile step sends them where the rules send units beyond the targets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rules.arith import dense_groups, sequential_fill
from solvers.problem import Grouping

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
Mask = NDArray[np.bool_]

# A unit sold with probability below one in a million is not worth a target.
GAIN_FLOOR = 1e-6
# The bisection stops for a SKU once at most this many units lie between its two
# levels (their own chances then order them), or once the levels are this close (the
# units between them tie; sorted all the same).
BAND_UNITS = 16
GAIN_TIE = 1e-12
MAX_STEPS = 64  # halvings: from [GAIN_FLOOR, 1] to below GAIN_TIE takes ~40


def horizon_demand(velocity: F64, dispersion: F64, horizon_days: float) -> tuple[F64, F64]:
    """Mean and negative binomial size (np.inf: Poisson) of each cell's demand over the
    horizon, from its daily rate and daily size. A size that is not above 0 (or NaN)
    describes no distribution: such cells are read as Poisson."""
    size = np.where(dispersion > 0, dispersion * horizon_days, np.inf)
    return velocity * horizon_days, size


def units_above(gain: F64, mean: F64, size: F64) -> F64:
    """Per cell, how many units sell with probability above `gain` (per cell): the
    smallest j with P(D <= j) >= 1 - gain. Zero where the mean is zero."""
    from scipy import stats  # on first use: scipy.stats costs every plan 0.3 s to import

    out = np.zeros(mean.size)
    live = mean > 0
    poisson = live & np.isinf(size)
    if poisson.any():
        out[poisson] = poisson_quantile(1.0 - gain[poisson], mean[poisson])
    nb = live & ~poisson
    if nb.any():
        n = size[nb]
        out[nb] = stats.nbinom.ppf(1.0 - gain[nb], n, n / (n + mean[nb]))
    return out


def poisson_quantile(q: F64, mean: F64) -> F64:
    """The smallest j >= 0 with P(D <= j) >= q, D Poisson (scipy's `ppf`, 7x faster:
    its inverse of the incomplete gamma is the whole cost of this rule): from a
    Cornish-Fisher guess, a search on the exact CDF."""
    from scipy import special  # on first use, as scipy.stats above (0.2 s of imports)

    z = np.clip(special.ndtri(q), -40.0, 40.0)  # finite at q = 0 (z = -inf) too
    guess = np.floor(mean + np.sqrt(mean) * z + (z * z - 1.0) / 6.0)
    return least_reaching(np.maximum(guess, 0.0), q, lambda k, at: special.pdtr(k, mean[at]))


def least_reaching(guess: F64, q: F64, cdf: Callable[[F64, I64], F64]) -> F64:
    """Per element, the smallest whole k >= 0 with cdf(k) >= q, searched from a whole
    `guess` >= 0 (`cdf(k, at)`: the CDF at k of the elements `at`). Steps of 1, 2, 4, ...
    away from the guess until the answer is bracketed, then halving: two CDF values
    where the guess is right, a few dozen where it is far off."""
    every = np.arange(guess.size)
    reached = cdf(guess, every) >= q
    # The answer lies in (lo, hi]: cdf(lo) < q (lo = -1: below every k) <= cdf(hi).
    lo, hi = guess.copy(), guess.copy()
    for down, todo in ((True, every[reached]), (False, every[~reached])):
        step = 1.0
        while todo.size:
            if down:
                k = np.maximum(hi[todo] - step, -1.0)
                out = (k < 0) | (cdf(np.maximum(k, 0.0), todo) < q[todo])
            else:
                k = lo[todo] + step
                out = cdf(k, todo) >= q[todo]
            (lo if down else hi)[todo[out]] = k[out]
            (hi if down else lo)[todo[~out]] = k[~out]
            todo = todo[~out]
            step *= 2.0
    todo = every[hi - lo > 1]
    while todo.size:
        mid = np.floor(0.5 * (lo[todo] + hi[todo]))
        above = cdf(mid, todo) >= q[todo]
        hi[todo[above]] = mid[above]
        lo[todo[~above]] = mid[~above]
        todo = todo[hi[todo] - lo[todo] > 1]
    return hi


def expected_sold(units: I64, mean: F64, size: F64) -> F64:
    """E[min(D, x)] per cell for x = `units`: E[D; D <= x - 1] + x P(D >= x), where
    E[D; D <= m] = mean x P(D* <= m - 1) with D* the size-biased law less one: Poisson
    with the same mean, or negative binomial with size + 1 and the same p."""
    x = np.asarray(units, dtype=np.float64)
    out = np.zeros(mean.size)
    for cells, dist, biased in _families(mean, size, (mean > 0) & (x > 0)):
        at = x[cells]
        out[cells] = mean[cells] * biased.cdf(at - 2) + at * dist.sf(at - 1)
    return out


def _families(mean: F64, size: F64, live: Mask) -> Iterator[tuple[Mask, Any, Any]]:
    """The `live` cells by family, each with its frozen scipy law over those cells and
    the size-biased law less one: Poisson where the size is infinite, else negative
    binomial of that size and mean (scipy's p = size / (size + mean))."""
    from scipy import stats  # on first use

    poisson = live & np.isinf(size)
    if poisson.any():
        law = stats.poisson(mean[poisson])
        yield poisson, law, law
    nb = live & ~np.isinf(size)
    if nb.any():
        n, p = size[nb], size[nb] / (size[nb] + mean[nb])
        yield nb, stats.nbinom(n, p), stats.nbinom(n + 1, p)


def greedy_split(
    by: Grouping,
    mean: F64,
    size: F64,
    have: I64,
    low: I64,
    high: I64,
    amount: I64,
    most: I64 | None = None,
) -> I64:
    """Per cell (grouped by SKU in `by`, sorted by SKU, then by shop rank within a SKU),
    the units that maximise a SKU's expected sales: `amount[g]` units of group g go to
    its cells in order of the gain P(D >= have + k) of each cell's k-th unit, each cell
    between `low` and `high` units (`have` is what the cell holds already: pins).

    Each group places min(amount, the units of gain at least GAIN_FLOOR within the
    bounds), or just its `low`s where those alone reach the amount (soft floors, which
    the solver fills by shop rank). `most`: `worth_a_target`'s answer, when the caller
    has it."""

    def level(gain: F64, at: I64) -> I64:
        above = units_above(gain, mean[at], size[at]) - have[at]
        return np.clip(above, low[at], high[at]).astype(np.int64)

    # At the floor of gains: every unit worth a target. With enough stock, the split.
    if most is None:
        most = worth_a_target(mean, size, have, low, high)
    low_total = by.sum(low)
    floors_only = low_total >= amount
    x = np.where(by.spread(floors_only), low, most)
    short = (by.sum(most) > amount) & ~floors_only
    if not short.any():
        return x
    # Bisection per SKU on the gain level g (the units at level g do not grow with g):
    # at g_lo more than the amount is placed (x_lo), at g_hi at most (x_hi). Once few
    # units lie between the two, their own gains decide.
    at = np.flatnonzero(by.spread(short))
    sub = Grouping.of_sorted(dense_groups(by.group[at]), int(short.sum()))
    goal = amount[short]
    g_lo = np.full(sub.n_groups, GAIN_FLOOR)
    g_hi = np.ones(sub.n_groups)
    x_lo = most[at]
    x_hi = low[at].copy()  # no unit sells for sure: every cell at its low
    placed_lo, placed_hi = by.sum(most)[short], low_total[short]
    active = placed_lo - placed_hi > BAND_UNITS
    for _ in range(MAX_STEPS):
        if not active.any():
            break
        mid = 0.5 * (g_lo + g_hi)
        idx = np.flatnonzero(sub.spread(active))
        trial = level(mid[sub.group[idx]], at[idx])
        placed = np.bincount(sub.group[idx], weights=trial, minlength=sub.n_groups)
        placed = placed.astype(np.int64)
        fits = placed <= goal
        fit_cell = fits[sub.group[idx]]
        x_hi[idx[fit_cell]] = trial[fit_cell]
        x_lo[idx[~fit_cell]] = trial[~fit_cell]
        g_hi = np.where(active & fits, mid, g_hi)
        g_lo = np.where(active & ~fits, mid, g_lo)
        placed_hi = np.where(active & fits, placed, placed_hi)
        placed_lo = np.where(active & ~fits, placed, placed_lo)
        active &= (placed_lo - placed_hi > BAND_UNITS) & (g_hi - g_lo > GAIN_TIE)
    # Few units between the levels: their own chances order them. More: the levels met
    # within GAIN_TIE (chances that floating point cannot tell apart, such as a pool far
    # below every cell's demand, where each unit sells with probability 1.0): ties,
    # by shop rank.
    spare = goal - placed_hi
    tied = placed_lo - placed_hi > BAND_UNITS
    near = np.where(tied[sub.group], x_hi, x_lo)
    x_sub = _likeliest(sub, x_hi, near, np.where(tied, 0, spare), mean[at], size[at], have[at])
    band = np.where(tied[sub.group], x_lo - x_hi, 0)
    x[at] = x_sub + sequential_fill(sub.group, band, np.where(tied, spare, 0))
    return x


def worth_a_target(mean: F64, size: F64, have: I64, low: I64, high: I64) -> I64:
    """Per cell, its units beyond `have` that sell with probability at least
    GAIN_FLOOR, within `low` .. `high`."""
    above = units_above(np.full(mean.size, GAIN_FLOOR), mean, size) - have
    return np.clip(above, low, high).astype(np.int64)


def _likeliest(
    by: Grouping, x_hi: I64, x_lo: I64, spare: I64, mean: F64, size: F64, have: I64
) -> I64:
    """`x_hi` plus, per group, its `spare` likeliest units among each cell's units
    x_hi + 1 .. x_lo, by their own chance to sell; equal chances by cell order (shop
    rank), then unit order. A cell's chances fall unit by unit, so each cell takes a
    run of its first units: this is the greedy's order, exactly."""
    band = x_lo - x_hi
    cell = np.repeat(np.arange(band.size), band)
    first = np.cumsum(band) - band
    unit = x_hi[cell] + 1 + (np.arange(cell.size) - first[cell])
    chance = sell_chance(have[cell] + unit, mean[cell], size[cell])
    group = by.group[cell]
    order = np.lexsort((unit, cell, -chance, group))
    in_order = group[order]
    rank = np.arange(order.size) - np.searchsorted(in_order, in_order, side="left")
    taken = order[rank < spare[in_order]]
    return x_hi + np.bincount(cell[taken], minlength=band.size)


def sell_chance(k: I64, mean: F64, size: F64) -> F64:
    """P(D >= k) per cell (k >= 1): the chance that the cell's k-th unit sells."""
    out = np.zeros(mean.size)
    for cells, law, _ in _families(mean, size, mean > 0):
        out[cells] = law.sf(k[cells] - 1)
    return out
