"""Connected components of a graph given as two lists of end nodes, in numpy: which
SKUs are tied (by a shop limit, by a bundle) and must be solved together.

scipy's csgraph finds the same from a sparse matrix, but building and checking that
matrix costs more than the search on the small graphs a plan asks about dozens of
times, and importing scipy.sparse adds a sixth of a second to a command's start."""

from __future__ import annotations

import numpy as np

from solvers.problem import I64


def linked(n: int, a: I64, b: I64) -> I64:
    """Per node of `n`, its component: nodes joined by an edge (a[k], b[k]) share one.
    Components are numbered in the order of their first node.

    Each node points to a smaller node of its component, or to itself (a root). Each
    round joins the two trees of every edge still between trees (the larger root
    points to the smaller) and then points every node straight at its root."""
    root = np.arange(n, dtype=np.int64)
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    while a.size:
        ends_a, ends_b = root[a], root[b]
        apart = ends_a != ends_b
        if not apart.any():
            break
        a, b, ends_a, ends_b = a[apart], b[apart], ends_a[apart], ends_b[apart]
        np.minimum.at(root, np.maximum(ends_a, ends_b), np.minimum(ends_a, ends_b))
        while True:  # as many passes as the trees are deep, halving it each time
            up = root[root]
            if np.array_equal(up, root):
                break
            root = up
    is_root = root == np.arange(n)
    number: I64 = np.cumsum(is_root) - 1
    return number[root]
