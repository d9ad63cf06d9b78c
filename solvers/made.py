"""Bundles without an integer program, where each block holds one bundle.

A bundle made from components takes `qty` units of each: with the number made fixed,
every SKU of the block is on its own again (the bundle has its own stock plus those made,
each component its stock less what they took), and each SKU's cheapest placement is the
greedy of solvers/greedy.py. That cost, as a function of the number made, is the value
of a linear program in its right-hand side (the rest is a network: whole for whole
numbers), so it is convex: the best number made is found by bisection on its slope,
for every block at once. Supply groups that nest (warehouse scopes) keep both true:
the greedy takes them (a tree of rows is still a network). Exact, as the MIP is: the
backend `bundles`, tried before the MIP; a block with two bundles (components shared
between bundles) or supply groups that cross is left to the MIP. Relax and repair
uses the same search at its shop prices.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from solvers.base import Backend
from solvers.errors import SolverError
from solvers.greedy import Greedy
from solvers.laminar import crossing_skus
from solvers.problem import (
    I64,
    Costs,
    Feature,
    Problem,
    Solution,
    bundle_unit_cost,
    check_bundles,
    objective,
    remaining_pool,
)
from solvers.split import sku_blocks

NAME = "bundles"


class BundleSearch(Backend):
    """Bundles (and nested supply groups), one bundle per block: exact without an
    integer program."""

    name: ClassVar[str] = NAME
    features: ClassVar[frozenset[Feature]] = frozenset({Feature.BUNDLES, Feature.GROUPS})

    @classmethod
    def is_available(cls) -> bool:
        return True  # numpy and the greedy only

    @classmethod
    def supports(cls, problem: Problem) -> bool:
        return problem.features <= cls.features and applies(problem)

    def solve(self, problem: Problem, time_limit_s: float = 60.0) -> Solution:
        if not self.supports(problem):
            raise SolverError(self.name, "unsupported", "needs the MIP backend")
        try:
            check_bundles(problem)
        except ValueError as err:
            raise SolverError(self.name, "invalid", str(err)) from None
        x, shared = solve_made(problem)
        return Solution(x, shared, self.name, objective(problem, x, shared))


def applies(problem: Problem) -> bool:
    """Bundles, one bundle per block, no bundle that is another's component, and
    supply groups only where they nest."""
    b = problem.bundles
    if b is None or b.bundle.size == 0:
        return False
    if problem.groups is not None and crossing_skus(problem).any():
        return False
    bundles = np.unique(b.bundle)
    if np.isin(bundles, b.component).any():
        return False
    block = sku_blocks(problem)
    return bool(np.bincount(block[bundles]).max(initial=0) <= 1)


def solve_made(problem: Problem, price: I64 | None = None) -> tuple[I64, I64]:
    """The plan (x per cell, shared part per SKU) with the best number of each bundle
    made, capacities ignored (`price` per unit on each shop stands for them)."""
    if price is None:
        price = np.zeros(problem.n_shops, dtype=np.int64)
    return MadeSearch(problem).plan(price)


class MadeSearch:
    """The search over numbers made for one problem, what does not depend on the shop
    prices built once: relax and repair asks at several prices. SolverError where the
    search cannot see a plan (the MIP then decides and says why)."""

    def __init__(self, problem: Problem) -> None:
        assert problem.bundles is not None
        b = problem.bundles
        self.problem = problem
        self.greedy = Greedy(problem)
        if self.greedy.caps is not None and np.any(self.greedy.caps.room < 0):
            raise SolverError(NAME, "unsupported", "lower bounds beyond a supply group's limit")
        self.rest = rest = remaining_pool(problem)
        self.bundles, self.row_bundle = np.unique(b.bundle, return_inverse=True)
        self.block = sku_blocks(problem)
        self.unit = bundle_unit_cost(problem, Costs.for_problem(problem))[self.bundles]
        # At most as many as the scarcest component allows.
        self.most = np.full(self.bundles.size, np.iinfo(np.int64).max)
        np.minimum.at(self.most, self.row_bundle, np.maximum(rest[b.component], 0) // b.qty)
        # At least what the bundle's lower bounds need beyond its own stock.
        self.least = np.maximum(-rest[self.bundles], 0)
        short = rest < 0
        short[self.bundles] = False
        if np.any(self.least > self.most) or short.any():
            raise SolverError(NAME, "unsupported", "lower bounds beyond what can be made")
        self.last: I64 | None = None  # the numbers made at the last price asked

    def plan(self, price: I64) -> tuple[I64, I64]:
        """The plan at `price` with the best number of each bundle made: the least
        number past which its block's cost rises. After a first price, the search
        starts at the last answer (relax and repair asks at prices close together,
        whose answers are mostly the same): the same answer, in fewer steps."""
        lo, hi = self.least, self.most
        if self.last is not None:
            lo, hi = self._around(price, self.last, lo, hi)
        while np.any(lo < hi):  # the least number made past which the cost rises
            open_ = lo < hi
            mid = (lo + hi) // 2
            rising = self._block_cost(price, mid + open_) - self._block_cost(price, mid) >= 0
            lo, hi = np.where(open_ & ~rising, mid + 1, lo), np.where(open_ & rising, mid, hi)
        self.last = lo
        x, shared, _ = self.greedy.fill(price, self._units(lo))
        return x, shared

    def _around(self, price: I64, guess: I64, lo: I64, hi: I64) -> tuple[I64, I64]:
        """[lo, hi] narrowed by the slopes at `guess` (clipped into it): rising there,
        the answer is at most the guess, and the slope just below says whether it is
        the guess; else the answer is above it."""
        g = np.clip(guess, lo, hi)
        at = self._block_cost(price, g)
        open_ = g < hi
        # At g == hi the answer is at most g already.
        rising = ~open_ | (self._block_cost(price, g + open_) - at >= 0)
        lo, hi = np.where(rising, lo, g + 1), np.where(rising, g, hi)
        below = rising & (g > lo)
        if below.any():
            falling_before = at - self._block_cost(price, g - below) < 0
            lo = np.where(below & falling_before, g, lo)
            hi = np.where(below & ~falling_before, g - 1, hi)
        return lo, hi

    def _units(self, made: I64) -> I64:
        """Each SKU's units to place with `made` of each bundle made."""
        b = self.problem.bundles
        assert b is not None
        units = self.rest.copy()
        units[self.bundles] += made
        np.subtract.at(units, b.component, b.qty * made[self.row_bundle])
        return units

    def _block_cost(self, price: I64, made: I64) -> I64:
        """Per bundle, its block's cost with `made` of each made (bundle units included)."""
        cost = self.greedy.fill(price, self._units(made))[2]
        block = self.block
        per_block = np.bincount(block, weights=cost, minlength=int(block.max()) + 1)
        return per_block.astype(np.int64)[block[self.bundles]] + self.unit * made
