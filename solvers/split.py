"""Splitting a problem into its separable part and its coupled part.

Most SKUs of a real ruleset touch no shop capacity, bundle, budget or supply group;
they go to the closed form in one vectorised pass, and only the SKUs that couplings
tie together go to a flow or MIP backend. The optimum of the whole is the union of
the parts' optima, because no row of the problem spans both parts.
"""

from __future__ import annotations

import numpy as np

from solvers.problem import I64, Bool, Budgets, Bundles, Feature, Groups, Problem

Mask = Bool


def coupled_skus(problem: Problem) -> Mask:
    """SKUs that some row beyond their own pool row ties to other SKUs or cells."""
    n_s = problem.n_skus
    out = np.zeros(n_s, dtype=bool)
    # A cell takes part when it may hold units or lists the SKU's shared part.
    live = (problem.ub > 0) | problem.in_shared
    limited = np.zeros(problem.n_shops, dtype=bool)
    limited |= problem.shop_capacity >= 0
    if problem.budgets is not None:
        limited[problem.budgets.shop] = True
    out[problem.cell_sku[live & limited[problem.cell_shop]]] = True
    if problem.bundles is not None:
        out[problem.bundles.bundle] = True
        out[problem.bundles.component] = True
    if problem.groups is not None:
        out[problem.groups.sku] = True
    return out


def restrict(problem: Problem, skus: Mask) -> tuple[Problem, I64, I64]:
    """The sub-problem on a set of SKUs (and all their cells), with the original SKU
    and cell indices of its rows, to merge the answer back."""
    sku_idx = np.flatnonzero(skus)
    new_sku = np.full(problem.n_skus, -1, dtype=np.int64)
    new_sku[sku_idx] = np.arange(sku_idx.size)
    cell_idx = np.flatnonzero(skus[problem.cell_sku])
    new_cell = np.full(problem.n_cells, -1, dtype=np.int64)
    new_cell[cell_idx] = np.arange(cell_idx.size)

    groups = None
    if problem.groups is not None:
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
    features = set(problem.features)
    if groups is None or groups.sku.size == 0:
        features.discard(Feature.GROUPS)
        groups = None
    if bundles is None:
        features.discard(Feature.BUNDLES)
    live = (problem.ub[cell_idx] > 0) | problem.in_shared[cell_idx]
    live_shops = problem.cell_shop[cell_idx[live]]
    if not np.any(problem.shop_capacity[live_shops] >= 0):
        features.discard(Feature.CAPACITY)
        features.discard(Feature.SHARED_CAPACITY)
    if budgets is not None and not np.any(np.isin(live_shops, budgets.shop)):
        features.discard(Feature.BUDGETS)
        budgets = None
    sub = Problem(
        sku_ids=[problem.sku_ids[i] for i in sku_idx],
        shop_ids=problem.shop_ids,
        cell_sku=new_sku[problem.cell_sku[cell_idx]],
        cell_shop=problem.cell_shop[cell_idx],
        lb=problem.lb[cell_idx],
        ub=problem.ub[cell_idx],
        floor=problem.floor[cell_idx],
        target=problem.target[cell_idx],
        pool=problem.pool[sku_idx],
        free_idle=problem.free_idle[sku_idx],
        shop_rank=problem.shop_rank,
        shared=problem.shared[sku_idx],
        in_shared=problem.in_shared[cell_idx],
        shop_capacity=problem.shop_capacity,
        price_cents=problem.price_cents[sku_idx],
        groups=groups,
        bundles=bundles,
        budgets=budgets,
        features=frozenset(features),
    )
    return sub, sku_idx, cell_idx
