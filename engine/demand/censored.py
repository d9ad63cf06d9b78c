"""The censored Poisson rate of each cell: the fixed point of EM.

EM for a Poisson rate with censored days and a gamma prior (k pseudo-days at mean m):
the E-step replaces a censored day's demand by E[D | D >= s] = rate + e_s(rate)
(engine.demand.tails); the M-step is the posterior mean
    rate = (k m + S + sum over censored days of w (rate + e_s(rate))) / (k + W + Wc)
(S, W: weighted units and days of the uncensored days; Wc: weight of the censored days
with sales; a censored day with no sales has e_0 = 0 and cancels out exactly: it is
left out). Its fixed point is the root of
    G(rate) = rate (k + W) - (k m + S) - sum w e_s(rate),
which is increasing (e_s falls with the rate) and lies between (k m + S) / (k + W)
(the censored days ignored) and (k m + S + sum w s) / (k + W) (their sales taken as
demand, the most e_s can add). EM creeps there at the rate of the information the
censoring hides; Newton's method on G, kept inside that bracket, reaches the same point
in a few steps."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from engine.demand.sums import DaySums, sums_by
from engine.demand.tails import excess

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]

# A Newton step this small (relative) ends a cell's iterations: the step taken is then
# good to the rounding of G. Below it, G's own rounding (its terms cancel at the root,
# and the tails are good to about 1e-14) decides, so a G within _NOISE of its terms'
# size also ends them, as does a bracket this narrow.
_TOLERANCE = 1e-10
_NOISE = 1e-13
_NARROW = 1e-12
_MAX_STEPS = 200  # bisection alone halves the bracket this often: far below tolerance


def censored_rates(prior_days: F64, prior_weighted: F64, sums: DaySums) -> F64:
    """Per cell the root of G for `prior_days` k and `prior_weighted` k m (arrays per
    cell; zeros: no prior). A cell with censored sales but neither uncensored days nor a
    prior has no finite root (its demand may be anything above its sales): inf."""
    a = prior_days + sums.weight
    b = prior_weighted + sums.weighted_units
    n = a.size
    rate = np.divide(b, a, out=np.zeros(n), where=a > 0)
    floor_weight = sums_by(sums.entry_cell, sums.entry_weight, n)
    floor_units = sums_by(sums.entry_cell, sums.entry_weight * sums.entry_units, n)
    cells = np.flatnonzero(floor_weight > 0)
    rate[cells[a[cells] <= 0]] = np.inf
    cells = cells[a[cells] > 0]
    if cells.size == 0:
        return rate
    local = np.full(n, -1, dtype=np.int64)
    local[cells] = np.arange(cells.size)
    keep = local[sums.entry_cell] >= 0
    at = local[sums.entry_cell[keep]]
    s, w = sums.entry_units[keep], sums.entry_weight[keep]
    a_c, b_c = a[cells], b[cells]
    lo = b_c / a_c
    hi = (b_c + floor_units[cells]) / a_c
    x = np.where(lo > 0, lo, 0.5 * hi)
    for _ in range(_MAX_STEPS):
        e, slope = excess(s, x[at])
        m = cells.size
        floors = sums_by(at, w * e, m)
        g = x * a_c - b_c - floors
        dg = a_c - sums_by(at, w * slope, m)
        lo = np.where(g < 0, x, lo)
        hi = np.where(g > 0, x, hi)
        step = x - g / dg
        outside = ~((step > lo) & (step < hi))
        step[outside] = 0.5 * (lo[outside] + hi[outside])
        # At the root to G's rounding: x is the rate (a step from there is noise).
        at_root = np.abs(g) <= _NOISE * (x * a_c + b_c + floors)
        step[at_root] = x[at_root]
        done = (
            at_root | (~outside & (np.abs(step - x) <= _TOLERANCE * x)) | (hi - lo <= _NARROW * x)
        )
        x = step
        rate[cells[done]] = x[done]
        if done.all():
            break
        # Carry on with the cells still moving, and their entries only.
        going = ~done
        renumber = np.cumsum(going) - 1
        keep = going[at]
        at, s, w = renumber[at[keep]], s[keep], w[keep]
        cells, a_c, b_c = cells[going], a_c[going], b_c[going]
        lo, hi, x = lo[going], hi[going], x[going]
    else:
        rate[cells] = x  # not reached: bisection alone meets the tolerance sooner
    return rate
