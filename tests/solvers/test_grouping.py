"""Grouping: per-group sums and spreads agree with bincount and gathers, bit for bit."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from solvers.problem import Grouping


@st.composite
def groupings(draw: st.DrawFn) -> tuple[np.ndarray, int]:
    """Group ids (sorted or not, uniform widths or not, empty groups allowed)."""
    n_groups = draw(st.integers(0, 6))
    if n_groups == 0:
        return np.zeros(0, dtype=np.int64), 0
    if draw(st.booleans()):
        width = draw(st.integers(0, 4))
        group = np.repeat(np.arange(n_groups), width)
    else:
        sizes = draw(st.lists(st.integers(0, 5), min_size=n_groups, max_size=n_groups))
        group = np.repeat(np.arange(n_groups), sizes)
    if draw(st.booleans()):
        seed = draw(st.integers(0, 2**16))
        group = np.random.default_rng(seed).permutation(group)
    return group.astype(np.int64), n_groups


@settings(max_examples=200, deadline=None)
@given(groupings(), st.integers(0, 2**16))
def test_grouping_matches_bincount(case: tuple[np.ndarray, int], seed: int) -> None:
    group, n_groups = case
    rng = np.random.default_rng(seed)
    by = Grouping.of(group, n_groups)
    floats = rng.standard_normal(group.size) * 10.0 ** rng.integers(-8, 8, group.size)
    ints = rng.integers(-1000, 1000, group.size)
    mask = rng.random(group.size) < 0.3
    expected = np.bincount(group, weights=floats, minlength=n_groups)
    assert by.fsum(floats).tobytes() == expected.tobytes()
    assert np.array_equal(by.sum(ints), np.bincount(group, weights=ints, minlength=n_groups))
    assert np.array_equal(by.sum(mask), np.bincount(group[mask], minlength=n_groups))
    assert np.array_equal(by.any(mask), np.bincount(group[mask], minlength=n_groups) > 0)
    per_group = rng.standard_normal(n_groups)
    spread = by.spread(per_group)
    if by.start is not None:  # sorted: the spread is in element order
        assert np.array_equal(spread, per_group[group])
        assert np.array_equal(by.combine(np.multiply, per_group, floats), per_group[group] * floats)
    else:
        assert np.array_equal(spread, per_group[group])


def test_uniform_width_is_detected_only_when_sorted() -> None:
    assert Grouping.of(np.repeat(np.arange(3), 2), 3).width == 2
    assert Grouping.of(np.array([0, 1, 0, 1]), 2).width is None
    assert Grouping.of(np.array([0, 0, 1]), 2).width is None
