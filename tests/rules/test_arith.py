"""The compile step's grouped arithmetic: the fast paths (row tables, groups present
only, sorts of the groups with spare units only) give what the plain formulations
give (largest remainder bit for bit: plans must not change with the implementation;
water-filling exactly where plain bisection converges)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.arith import EPS, dense_groups, largest_remainder, members, water_fill
from solvers.problem import Grouping


def plain_largest_remainder(
    group: np.ndarray, quota: np.ndarray, total: np.ndarray, rank: np.ndarray, n: int
) -> np.ndarray:
    """One sort of every element by (group, fraction, rank)."""
    base = np.floor(quota + EPS).astype(np.int64)
    spare = total - np.bincount(group, weights=base, minlength=n).astype(np.int64)
    behind = np.round((1.0 - (quota - base)) * (1 << 20)).astype(np.int64)
    order = np.argsort((group << 33) | (behind << 12) | rank)
    sorted_group = group[order]
    position = np.arange(order.size) - np.searchsorted(sorted_group, sorted_group)
    extra = np.zeros(order.size, dtype=np.int64)
    extra[order] = position < spare[sorted_group]
    return base + extra


def plain_water_fill(
    group: np.ndarray, velocity: np.ndarray, cap: np.ndarray, amount: np.ndarray, n: int
) -> np.ndarray:
    """Bisection over every group id, sums by bincount."""
    cap = np.where(velocity > 0, cap, 0.0)
    want = np.minimum(amount, np.bincount(group, weights=cap, minlength=n))
    v_min = np.full(n, np.inf)
    np.minimum.at(v_min, group, np.where(velocity > 0, velocity, np.inf))
    open_ = np.isfinite(v_min)
    hi = np.where(open_, want / np.where(open_, v_min, 1.0), 0.0)
    lo = np.zeros(n)
    for _ in range(64):
        mid = (lo + hi) / 2
        filled = np.bincount(group, weights=np.minimum(mid[group] * velocity, cap), minlength=n)
        below = filled < want
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return np.minimum(hi[group] * velocity, cap)


@st.composite
def groups(draw: st.DrawFn) -> tuple[np.ndarray, int, np.random.Generator]:
    n = draw(st.integers(1, 8))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if draw(st.booleans()):
        group = np.repeat(np.arange(n), draw(st.integers(1, 5)))
    else:
        group = np.repeat(np.arange(n), rng.integers(0, 6, n))
    return group.astype(np.int64), n, rng


@settings(max_examples=300, deadline=None)
@given(groups())
def test_largest_remainder_matches_one_sort(
    case: tuple[np.ndarray, int, np.random.Generator],
) -> None:
    group, n, rng = case
    # Quotas with ties, near-integers and exact integers, as shares produce them.
    quota = rng.choice([0.0, 0.5, 1.0, 2.999999999, 1 / 3, 2 / 3], group.size) * rng.integers(
        0, 4, group.size
    ) + rng.random(group.size) * (rng.random(group.size) < 0.5)
    sums = np.bincount(group, weights=quota, minlength=n)
    total = np.floor(sums + EPS).astype(np.int64)
    # Ranks differ within a group: the cells' shop ranks.
    rank = np.arange(group.size) - np.searchsorted(group, group)
    rank = (rank * 7 + 3) % 11 + rank * 11
    expected = plain_largest_remainder(group, quota, total, rank, n)
    assert np.array_equal(largest_remainder(group, quota, total, rank, n), expected)
    by = Grouping.of_sorted(group, n)
    assert np.array_equal(largest_remainder(group, quota, total, rank, n, by), expected)


@settings(max_examples=300, deadline=None)
@given(groups(), st.booleans())
def test_water_fill_is_the_level_bisection_converges_to(
    case: tuple[np.ndarray, int, np.random.Generator], shuffle: bool
) -> None:
    group, n, rng = case
    if shuffle:
        group = rng.permutation(group)
    velocity = rng.choice([0.0, 0.5, 1.0, 3.7], group.size) * rng.random(group.size) * 10
    cap = rng.integers(0, 30, group.size).astype(np.float64)
    amount = rng.integers(0, 60, n).astype(np.float64)
    got = water_fill(group, velocity, cap, amount, n)
    bisected = plain_water_fill(group, velocity, cap, amount, n)
    np.testing.assert_allclose(got, bisected, rtol=1e-9, atol=1e-9)
    # Every unit asked for is placed (up to the caps), none beyond any cap.
    open_cap = np.where(velocity > 0, cap, 0.0)
    want = np.minimum(amount, np.bincount(group, weights=open_cap, minlength=n))
    np.testing.assert_allclose(np.bincount(group, weights=got, minlength=n), want, atol=1e-9)
    assert np.all(got <= open_cap) and np.all(got >= 0)
    # One level per group: every element below its cap has the same quantity/velocity.
    below = (got < open_cap - 1e-9) & (velocity > 0)
    level = np.where(below, got / np.where(velocity > 0, velocity, 1.0), np.nan)
    for g in range(n):
        levels = level[(group == g) & below]
        if levels.size:
            np.testing.assert_allclose(levels, levels[0], rtol=1e-9)


def test_water_fill_on_rows_and_ragged_groups_agree() -> None:
    """The [group, position] path (groups of one width) and the ragged path give the
    same quantities for the same groups."""
    rng = np.random.default_rng(3)
    n, width = 50, 6
    group = np.repeat(np.arange(n), width)
    velocity = rng.pareto(1.5, group.size) * (rng.random(group.size) > 0.2)
    cap = rng.integers(0, 40, group.size).astype(np.float64)
    amount = rng.integers(0, 150, n).astype(np.float64)
    rows = water_fill(group, velocity, cap, amount, n)
    # One extra element in a group of its own makes the groups ragged.
    ragged = water_fill(
        np.r_[group, n], np.r_[velocity, 1.0], np.r_[cap, 5.0], np.r_[amount, 3.0], n + 1
    )
    assert rows.tobytes() == ragged[:-1].tobytes()
    assert ragged[-1] == 3.0


@settings(max_examples=100, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 4), min_size=1, max_size=12),
    pick=st.lists(st.booleans(), min_size=12, max_size=12),
)
def test_members_are_the_elements_of_the_groups(sizes: list[int], pick: list[bool]) -> None:
    group = np.repeat(np.arange(len(sizes)), sizes)
    by = Grouping.of_sorted(group, len(sizes))
    groups = np.flatnonzero(np.array(pick[: len(sizes)]))
    at = members(by, groups)
    assert np.array_equal(at, np.flatnonzero(np.isin(group, groups)))
    dense = dense_groups(group[at])
    assert np.array_equal(np.unique(dense), np.arange(np.unique(group[at]).size))
    assert np.all(np.diff(dense) >= 0)
