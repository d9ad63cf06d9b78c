"""Splitting a problem into independent parts, each on the fastest exact backend.

Most SKUs of a real ruleset touch no shop capacity, bundle, budget or supply group;
they go to the closed form in one vectorised pass. The others are grouped into
connected components (SKUs tied by a shared shop limit or a bundle), and components
with the same structure are solved together: capacity-only ones by min cost flow,
bundles and budgets by the MIP. The optimum of the whole is the union of the parts'
optima, because no row of the problem spans two parts.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from solvers.linked import linked
from solvers.problem import (
    FEATURE_BITS,
    I64,
    Bool,
    Budgets,
    Bundles,
    Feature,
    Groups,
    Problem,
    cell_arrays,
    live_cells,
)

Mask = Bool


def _limited_shops(problem: Problem) -> Mask:
    limited = problem.shop_capacity >= 0
    if problem.budgets is not None:
        limited = limited.copy()
        limited[problem.budgets.shop] = True
    return limited


def sku_feature_bits(problem: Problem) -> I64:
    """Per SKU, the structures beyond its pool row that involve it (bit per Feature);
    read-only, computed once per problem."""
    return problem.feature_bits


def features_of(bits: int) -> frozenset[Feature]:
    return frozenset(f for f, bit in FEATURE_BITS.items() if bits & bit)


def detect_features(problem: Problem) -> frozenset[Feature]:
    """The features the problem's data has (never trusted from a declaration)."""
    return features_of(int(np.bitwise_or.reduce(sku_feature_bits(problem), initial=0)))


def components(problem: Problem) -> I64:
    """Per SKU, its connected component: SKUs tied by a shared shop limit (capacity or
    budget) or a bundle, over the cells that take part. No row of the problem spans
    two components."""
    n_s = problem.n_skus
    if not problem.feature_bits.any():
        return np.arange(n_s, dtype=np.int64)  # every SKU on its own
    live = live_cells(problem)
    on_limited = np.flatnonzero(live & _limited_shops(problem)[problem.cell_shop])
    order = on_limited[np.lexsort((problem.cell_sku[on_limited], problem.cell_shop[on_limited]))]
    shop, sku = problem.cell_shop[order], problem.cell_sku[order]
    chain = shop[1:] == shop[:-1]  # consecutive SKUs on one limited shop are tied
    rows = [sku[:-1][chain]]
    cols = [sku[1:][chain]]
    if problem.bundles is not None:
        rows.append(problem.bundles.bundle)
        cols.append(problem.bundles.component)
    return linked(n_s, np.concatenate(rows), np.concatenate(cols))


def sku_blocks(problem: Problem) -> I64:
    """Per SKU, its block: SKUs tied by bundles share one, every other SKU is its own.
    Pool rows, supply groups and bundles never span two blocks; capacities and budgets
    can (see solvers/lp.py `solve_in_blocks`)."""
    n = problem.n_skus
    if problem.bundles is None or problem.bundles.bundle.size == 0:
        return np.arange(n, dtype=np.int64)
    return linked(n, problem.bundles.bundle, problem.bundles.component)


def partition(problem: Problem, label: I64 | None = None) -> list[Mask]:
    """SKU masks of the independent parts, one per distinct structure, separable first
    (`label`: the problem's `components`, when the caller has them)."""
    n_s = problem.n_skus
    bits = sku_feature_bits(problem)
    if not bits.any():
        return [np.ones(n_s, dtype=bool)]  # every SKU on its own, all alike: one part
    if label is None:
        label = components(problem)
    part_bits = np.zeros(label.max() + 1 if n_s else 0, dtype=np.int64)
    np.bitwise_or.at(part_bits, label, bits)
    signature = part_bits[label] if n_s else np.zeros(0, dtype=np.int64)
    return [signature == sig for sig in np.unique(signature)]


# Rows that tie SKUs across a shop: with bundles in the same part, relax and repair
# (solvers/relax.py) solves it rather than one MIP.
COUPLING = frozenset({Feature.CAPACITY, Feature.SHARED_CAPACITY, Feature.BUDGETS})


def relaxable(problem: Problem) -> bool:
    """Bundles and a coupling row in one part: what makes a large MIP of a brand.
    Not with unit costs: relax and repair's greedy prices every target unit alike, so
    such a part goes to the MIP whole."""
    if Feature.UNIT_COSTS in problem.features:
        return False
    return Feature.BUNDLES in problem.features and bool(problem.features & COUPLING)


def whole(problem: Problem) -> Problem:
    """The whole problem as a part: the problem itself when the features it declares
    are those its data has (as compiled problems' are), else a copy that has those."""
    features = detect_features(problem)
    if features == problem.features:
        return problem
    return _with_features(problem, features)


def _with_features(problem: Problem, features: frozenset[Feature]) -> Problem:
    """The problem declaring `features`. Same data, same per-SKU bits: the copy gets
    the cached ones (see Problem.feature_bits) rather than computing them again."""
    out = replace(problem, features=features)
    out.__dict__["feature_bits"] = problem.feature_bits
    return out


def restrict(problem: Problem, skus: Mask) -> tuple[Problem, I64, I64]:
    """The sub-problem on a set of SKUs (and all their cells), with the original SKU
    and cell indices of its rows, to merge the answer back."""
    if np.all(skus):
        # The whole problem: no copy (at 10M cells a copy costs half a gigabyte).
        return whole(problem), np.arange(problem.n_skus), np.arange(problem.n_cells)
    sku_idx = np.flatnonzero(skus)
    new_sku = np.full(problem.n_skus, -1, dtype=np.int64)
    new_sku[sku_idx] = np.arange(sku_idx.size)
    cell_idx = np.flatnonzero(skus[problem.cell_sku])
    new_cell = np.full(problem.n_cells, -1, dtype=np.int64)
    new_cell[cell_idx] = np.arange(cell_idx.size)

    groups = None
    if problem.groups is not None and np.any(skus[problem.groups.sku]):
        g = problem.groups
        keep = skus[g.sku]
        sizes = np.diff(g.indptr)[keep]
        rows = np.repeat(keep, np.diff(g.indptr))
        indptr = np.zeros(sizes.size + 1, dtype=np.int64)
        indptr[1:] = np.cumsum(sizes)
        groups = Groups(
            sku=new_sku[g.sku[keep]],
            cap=g.cap[keep],
            indptr=indptr,
            cells=new_cell[g.cells[rows]],
            with_shared=g.with_shared[keep],
        )
    bundles = None
    if problem.bundles is not None:
        b = problem.bundles
        keep = skus[b.bundle] & skus[b.component]
        if np.any(keep):
            bundles = Bundles(new_sku[b.bundle[keep]], new_sku[b.component[keep]], b.qty[keep])
    budgets: Budgets | None = problem.budgets
    if budgets is not None and not np.any(np.isin(budgets.shop, problem.cell_shop[cell_idx])):
        budgets = None
    cells = cell_arrays(problem, cell_idx)
    cells["cell_sku"] = new_sku[cells["cell_sku"]]
    sub = Problem(
        sku_ids=[problem.sku_ids[i] for i in sku_idx],
        shop_ids=problem.shop_ids,
        **cells,
        pool=problem.pool[sku_idx],
        free_idle=problem.free_idle[sku_idx],
        shop_rank=problem.shop_rank,
        shared=problem.shared[sku_idx],
        shop_capacity=problem.shop_capacity,
        price_cents=problem.price_cents[sku_idx],
        groups=groups,
        bundles=bundles,
        budgets=budgets,
        unit_costs=None if problem.unit_costs is None else problem.unit_costs.at(cell_idx),
    )
    return _with_features(sub, detect_features(sub)), sku_idx, cell_idx
