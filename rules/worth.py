"""What each unit of an `expected_sales` rule's cells is worth, for the solver.

A cell's k-th unit sells with probability P(D >= k) (rules/expected.py), so it is worth
price x P(D >= k) in expectation, less unit by unit: by `objective: revenue` the price
in fen, by `objective: units` 1 for every SKU (a unit's worth is its chance to sell).
The greedy of the rule already splits each SKU's base by chance, which within one SKU
is the same as by worth; where SKUs compete for a shop's capacity, value budget, a
supply group or a bundle's components, the solver decides, and it does so by worth once
each unit's worth is its cost (solvers/problem.py `UnitCosts`): the plan then holds the
most expected revenue (or units sold) the hard rows allow. Separable concave, so exact.

Per cell the units go in runs, each at the run's average worth (exact from E[min(D, x)]
at the run's ends): the units that sell almost surely (chance above 1 - SURE) as one
run, then every unit up to the last one that sells with probability GAIN_FLOOR, each
its own run, or MAX_RUNS runs of about equal length where there are more (cells with a
horizon demand in the hundreds; within such a run units are worth alike).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from rules.expected import expected_sold, units_above
from solvers.problem import F64, FEATURE_BITS, I64, WORTH_BITS, Bool, Feature, Problem, UnitCosts
from solvers.split import COUPLING, components, whole

# Chances this close to 1 round to one worth (1/4 of the smallest step).
SURE = 2.0 ** -(WORTH_BITS + 2)
MAX_RUNS = 64


@dataclass(frozen=True)
class WorthAsked:
    """Cells whose units one `expected_sales` rule prices by worth: `worth_runs`'s
    inputs, kept until the problem says which SKUs something couples."""

    cell: I64
    mean: F64
    size: F64
    have: I64
    most: I64
    price: F64  # fen per unit by revenue; 1.0 by units
    by_revenue: Bool  # the rule asked for revenue (an opt-in that may cost a MIP)

    @classmethod
    def joined(cls, asked: list[WorthAsked]) -> WorthAsked:
        return cls(*(np.concatenate([getattr(a, f.name) for a in asked]) for f in fields(cls)))

    def at(self, keep: I64) -> WorthAsked:
        return WorthAsked(*(getattr(self, f.name)[keep] for f in fields(self)))


@dataclass(frozen=True)
class WorthRuns:
    """Some cells' runs: cell `cell[i]` has runs `indptr[i]:indptr[i + 1]`, each of
    `length` units from the cell's first unit on, worth `value` fen each."""

    cell: I64
    indptr: I64
    length: I64
    value: F64


def worth_runs(cell: I64, mean: F64, size: F64, have: I64, most: I64, price: F64) -> WorthRuns:
    """The runs of cells `cell` (demand `mean`, `size` over the horizon; `have` units
    held already, `most` more worth a target; `price` in fen), up to have + most units.
    Cells without such units get none."""
    sure = units_above(np.full(mean.size, 1.0 - SURE), mean, size).astype(np.int64)
    end = have + most
    # The first run ends where the units held or the sure ones end, whichever is later.
    head = np.minimum(np.maximum(sure, have), end)
    band = end - head
    n_band = np.minimum(band, MAX_RUNS)
    n_runs = (head > 0) + n_band
    # Run ends per cell: the head's, then the band split into n_band near-equal runs.
    run = np.repeat(np.arange(cell.size), n_runs)
    first = np.cumsum(n_runs) - n_runs
    k = np.arange(run.size) - first[run] + 1 - (head > 0)[run]  # 0 at the head's end
    per = np.maximum(n_band, 1)[run]
    stop = head[run] + (band[run] * k) // per
    # E[min(D, x)] at each run's end; a run starts where the cell's previous one ends
    # (at 0, where E[min(D, 0)] = 0).
    upto = expected_sold(stop, mean[run], size[run])
    opens = np.arange(run.size) == first[run]
    start = np.where(opens, 0, np.roll(stop, 1))
    sold = upto - np.where(opens, 0.0, np.roll(upto, 1))
    length = stop - start
    live = n_runs > 0
    return WorthRuns(
        cell=cell[live],
        indptr=np.concatenate([[0], np.cumsum(n_runs[live])]).astype(np.int64),
        length=length,
        value=price[run] * sold / length,
    )


def with_unit_costs(problem: Problem, asked: list[WorthAsked]) -> Problem:
    """The problem with the asked cells priced by worth, on the SKUs something couples
    to others (a shop capacity, a value budget, a supply group, a bundle): elsewhere
    the rule's own split, which is the solver's plan, is already the best by worth, and
    the problem stays as it is. Runs are worked out for the coupled cells only."""
    if not asked:
        return problem
    every = WorthAsked.joined(asked)
    priced = problem.feature_bits != 0
    if not every.by_revenue.all():
        priced &= ~_relaxed_by_units(problem, every)
    coupled = np.flatnonzero(priced[problem.cell_sku[every.cell]])
    if not coupled.size:
        return problem
    # Rules take disjoint cells (one rule wins a SKU), each rule's in order: sort them.
    c = every.at(coupled[np.argsort(every.cell[coupled], kind="stable")])
    runs = worth_runs(c.cell, c.mean, c.size, c.have, c.most, c.price)
    if not runs.cell.size:  # no unit worth a target
        return problem
    costs = UnitCosts.of_values(runs.cell, runs.indptr, runs.length, runs.value)
    return whole(replace(problem, unit_costs=costs))


def _relaxed_by_units(problem: Problem, every: WorthAsked) -> Bool:
    """Per SKU: in a part where bundles meet a capacity or budget row and no cell is
    priced by revenue. Such parts are solved by relax and repair, whose greedy prices
    every target unit alike; unit costs would send the whole part (a brand's bundles
    and its capacity shop: thousands of SKUs) to the MIP. By units the rule's targets
    stand there, trimmed as any share rule's; by revenue, asked for, the MIP is paid."""
    part = components(problem)
    bits = problem.feature_bits
    n_parts = int(part.max()) + 1 if part.size else 0
    coupling = sum(FEATURE_BITS[f] for f in COUPLING)

    def in_part(mask: Bool) -> Bool:
        return np.bincount(part, weights=mask, minlength=n_parts) > 0

    revenue = np.zeros(problem.n_skus, dtype=bool)
    revenue[problem.cell_sku[every.cell[every.by_revenue]]] = True
    relaxed = (
        in_part((bits & FEATURE_BITS[Feature.BUNDLES]) != 0)
        & in_part((bits & coupling) != 0)
        & ~in_part(revenue)
    )
    return relaxed[part]
