"""Connected components in numpy (solvers/linked.py): the same components, numbered
the same way, as scipy's csgraph on random graphs, paths in any order included."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from solvers.linked import linked


def by_scipy(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    graph = coo_matrix((np.ones(a.size), (a, b)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


@st.composite
def graphs(draw: st.DrawFn) -> tuple[int, np.ndarray, np.ndarray]:
    n = draw(st.integers(0, 40))
    if n == 0:
        return 0, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    edges = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=60))
    a = np.array([e[0] for e in edges], dtype=np.int64)
    b = np.array([e[1] for e in edges], dtype=np.int64)
    return n, a, b


@settings(max_examples=300, deadline=None)
@given(graph=graphs())
def test_components_are_scipys(graph: tuple[int, np.ndarray, np.ndarray]) -> None:
    n, a, b = graph
    assert np.array_equal(linked(n, a, b), by_scipy(n, a, b))


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 3000))
def test_paths_in_any_order_are_one_component(seed: int, n: int) -> None:
    """A path visiting the nodes in a random order: the longest chains of pointers."""
    order = np.random.default_rng(seed).permutation(n)
    a, b = order[:-1], order[1:]
    label = linked(n, a, b)
    assert np.array_equal(label, np.zeros(n, dtype=np.int64))
    # Half the path's edges: as many components as scipy finds, numbered alike.
    assert np.array_equal(linked(n, a[::2], b[::2]), by_scipy(n, a[::2], b[::2]))
