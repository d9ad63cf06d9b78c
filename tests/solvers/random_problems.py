"""Small random allocation problems, feasible by construction, to check backends with.

One builder takes every number from `draw(lo, hi)`, so the same code serves Hypothesis
(which can then shrink a failing problem) and a plain seeded numpy generator. Plans
that place only the lower bounds and leave the rest idle always fit: lower bounds stay
within pools, capacities, group limits and budgets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
from hypothesis import strategies as st

from solvers.problem import Budgets, Bundles, Feature, Groups, Problem

Draw = Callable[[int, int], int]


def build_problem(draw: Draw, allowed: frozenset[Feature] = frozenset(Feature)) -> Problem:
    """A problem using only structures in `allowed`; `features` says which it has."""
    n_skus, n_shops = draw(1, 6), draw(1, 4)
    keys = [draw(0, 9) for _ in range(n_shops)]
    shop_rank = np.argsort(np.argsort(keys, kind="stable"), kind="stable")
    in_rank_order = np.argsort(shop_rank)
    cells = [(i, int(j)) for i in range(n_skus) for j in in_rank_order if draw(0, 3) > 0]
    cell_sku = np.array([i for i, _ in cells], dtype=np.int64)
    cell_shop = np.array([j for _, j in cells], dtype=np.int64)
    ub = np.array([draw(0, 8) for _ in cells], dtype=np.int64)
    lb = np.array([draw(0, u) if draw(0, 3) == 0 else 0 for u in ub], dtype=np.int64)
    floor = np.array([draw(0, 5) for _ in cells], dtype=np.int64)
    target = np.array([draw(0, 8) for _ in cells], dtype=np.int64)

    bundles = None
    n_bundles = draw(0, min(2, n_skus - 1)) if Feature.BUNDLES in allowed else 0
    if n_bundles:
        # Bundles are the first SKUs, components the others: no bundle of bundles.
        rows = [
            (b, c, draw(1, 3))
            for b in range(n_bundles)
            for c in range(n_bundles, n_skus)
            if draw(0, 1) or c == n_bundles
        ]
        bundles = Bundles(*(np.array(col, dtype=np.int64) for col in zip(*rows, strict=True)))

    lb_per_sku = np.bincount(cell_sku, weights=lb, minlength=n_skus).astype(np.int64)
    # Bundles get small pools so that listing them often needs their components.
    extra = [draw(0, 1) if i < n_bundles else draw(0, 12) for i in range(n_skus)]
    pool = lb_per_sku + np.array(extra, dtype=np.int64)
    # Bundles keep no free idle units (solvers.problem.check_bundles).
    free_idle = np.array(
        [0 if i < n_bundles else draw(0, 4) for i in range(n_skus)], dtype=np.int64
    )
    shared = np.array([draw(0, 2) == 0 for _ in range(n_skus)], dtype=bool)
    in_shared = np.array([bool(shared[i]) and draw(0, 1) == 1 for i, _ in cells], dtype=bool)
    price = np.array([50 * draw(1, 9) for _ in range(n_skus)], dtype=np.int64)

    lb_load = np.bincount(cell_shop, weights=lb, minlength=n_shops).astype(np.int64)
    capacity = np.full(n_shops, -1, dtype=np.int64)
    if Feature.CAPACITY in allowed and draw(0, 1):
        capacity = np.array(
            [lb_load[j] + draw(0, 10) if draw(0, 2) else -1 for j in range(n_shops)],
            dtype=np.int64,
        )
    limited = capacity[cell_shop] >= 0
    if Feature.SHARED_CAPACITY not in allowed:
        in_shared &= ~limited

    groups = None
    if Feature.GROUPS in allowed and draw(0, 1):
        sku, cap, members, with_shared = [], [], [], []
        for _ in range(draw(1, 3)):
            i = draw(0, n_skus - 1)
            mine = [c for c in range(len(cells)) if cell_sku[c] == i and draw(0, 1)]
            sku.append(i)
            members.append(mine)
            with_shared.append(bool(shared[i]) and draw(0, 1) == 1)
            cap.append(int(lb[mine].sum()) + draw(0, 6))
        groups = groups_of(sku, cap, members, with_shared)

    budgets = None
    if Feature.BUDGETS in allowed and draw(0, 1):
        value = np.bincount(cell_shop, weights=lb * price[cell_sku], minlength=n_shops)
        shops = [j for j in range(n_shops) if draw(0, 1)]
        budgets = Budgets(
            shop=np.array(shops, dtype=np.int64),
            limit=np.array([int(value[j]) + 50 * draw(0, 20) for j in shops], dtype=np.int64),
        )

    features = {
        Feature.CAPACITY: bool(limited.any()),
        Feature.SHARED_CAPACITY: bool((in_shared & limited).any()),
        Feature.GROUPS: groups is not None,
        Feature.BUNDLES: bundles is not None,
        Feature.BUDGETS: budgets is not None and budgets.shop.size > 0,
    }
    return Problem(
        sku_ids=[f"K{i}" for i in range(n_skus)],
        shop_ids=[f"S{j}" for j in range(n_shops)],
        cell_sku=cell_sku,
        cell_shop=cell_shop,
        lb=lb,
        ub=ub,
        floor=floor,
        target=target,
        pool=pool,
        free_idle=free_idle,
        shop_rank=shop_rank.astype(np.int64),
        shared=shared,
        in_shared=in_shared,
        shop_capacity=capacity,
        price_cents=price,
        groups=groups,
        bundles=bundles,
        budgets=budgets,
        features=frozenset(f for f, has in features.items() if has),
    )


def groups_of(
    sku: list[int], cap: list[int], members: list[list[int]], with_shared: list[bool]
) -> Groups:
    """Supply-group rows from plain lists, one entry per row (`members`: its cells)."""
    return Groups(
        sku=np.array(sku, dtype=np.int64),
        cap=np.array(cap, dtype=np.int64),
        indptr=np.cumsum([0] + [len(m) for m in members]).astype(np.int64),
        cells=np.array([c for m in members for c in m], dtype=np.int64),
        with_shared=np.array(with_shared, dtype=bool),
    )


def problems(allowed: frozenset[Feature] = frozenset(Feature)) -> st.SearchStrategy[Problem]:
    """Hypothesis strategy over `build_problem`."""

    @st.composite
    def build(draw: st.DrawFn) -> Problem:
        return build_problem(lambda lo, hi: draw(st.integers(lo, hi)), allowed)

    return build()


def seeded_problem(seed: int, allowed: frozenset[Feature] = frozenset(Feature)) -> Problem:
    """The same problems from a seeded numpy generator, for plain loops and benchmarks."""
    rng = np.random.default_rng(seed)
    return build_problem(lambda lo, hi: int(rng.integers(lo, hi + 1)), allowed)


def with_nested_groups(problem: Problem, draw: Draw) -> Problem:
    """The problem with its supply groups replaced by rows that nest by construction
    (warehouse scopes: a row, rows side by side inside it, and so on, three deep at
    most), the shared part counted along one chain from the outermost row in. Limits
    stay at or above the lower bounds inside them."""
    sku: list[int] = []
    cap: list[int] = []
    members: list[list[int]] = []
    with_shared: list[bool] = []

    def add(i: int, cells: list[int], depth: int, counts_shared: bool) -> None:
        sku.append(i)
        members.append(cells)
        with_shared.append(counts_shared)
        cap.append(int(problem.lb[cells].sum()) + draw(0, 6))
        if depth == 0 or len(cells) < 2:
            return
        cut = draw(1, len(cells) - 1)
        for k, part in enumerate((cells[:cut], cells[cut:])):
            if draw(0, 1):  # a row inside, or none for this part
                add(i, part, depth - 1, counts_shared and k == 0 and draw(0, 1) == 1)

    for i in range(problem.n_skus):
        mine = np.flatnonzero(problem.cell_sku == i).tolist()
        if mine and draw(0, 1):
            inside = [c for c in mine if draw(0, 3) > 0] or mine[:1]
            add(i, inside, draw(0, 2), bool(problem.shared[i]) and draw(0, 1) == 1)
    if not sku:
        return replace(problem, groups=None, features=problem.features - {Feature.GROUPS})
    groups = groups_of(sku, cap, members, with_shared)
    return replace(problem, groups=groups, features=problem.features | {Feature.GROUPS})


def nested_problems(allowed: frozenset[Feature]) -> st.SearchStrategy[Problem]:
    """`problems(allowed)` with supply groups that nest (`with_nested_groups`)."""

    @st.composite
    def build(draw: st.DrawFn) -> Problem:
        ints: Draw = lambda lo, hi: draw(st.integers(lo, hi))  # noqa: E731
        return with_nested_groups(build_problem(ints, allowed), ints)

    return build()


def seeded_nested_problem(seed: int, allowed: frozenset[Feature]) -> Problem:
    """`seeded_problem` with supply groups that nest."""
    rng = np.random.default_rng(seed)
    ints: Draw = lambda lo, hi: int(rng.integers(lo, hi + 1))  # noqa: E731
    return with_nested_groups(build_problem(ints, allowed), ints)
