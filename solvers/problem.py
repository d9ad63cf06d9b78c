"""The array-based allocation problem every backend solves, and its one objective.

Rules compile into this (rules/compile.py); backends never see rules. A *cell* is one
(SKU, shop) pair that may receive stock. Every unit of a SKU's pool ends in exactly one
place: a cell (exclusive), the SKU's shared part, or idle. Each cell's cost is convex
and piecewise linear in whole units, in three segments:

    [0, floor)            soft floor units   (rewarded most: keep listings alive)
    [floor, max(f, t))    target units       (rewarded: meet the rules' targets)
    [max(f, t), ub)       units over target  (small cost: better than idling)

and idle units are free up to `free_idle` (stock the rules mean to keep back, such as
the part of the pool shares below 100% do not cover), costly beyond. All costs are
integers, so min cost flow applies and every backend optimises the same number.
Shop rank (priority, then id) enters every cell cost as a tie-break.

Some cells price each unit above their floor by its own worth instead (`UnitCosts`,
the `expected_sales` rule's revenue objective): a unit worth the most costs a target
unit, a worthless one an over-target unit, linearly between. Worth falls unit by unit,
so the cost stays convex.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypedDict, TypeVar

import numpy as np
from numpy.typing import NDArray

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
Bool = NDArray[np.bool_]
Scalar = TypeVar("Scalar", bound=np.generic)


FSUM_BLOCK_ROWS = 4096  # x 8 bytes x a few tens of positions: within a core's L2 cache


def row_sums(table: F64) -> F64:
    """Float sums of a [row, position] table's rows, each added left to right (as
    `np.bincount` adds a group's elements: bit for bit the same sums).

    Column by column (a loop over positions, not over elements), in blocks of rows that
    stay in the CPU cache across the columns."""
    rows, width = table.shape
    out = np.zeros(rows)
    if not width:
        return out
    for top in range(0, rows, FSUM_BLOCK_ROWS):
        block, sums = table[top : top + FSUM_BLOCK_ROWS], out[top : top + FSUM_BLOCK_ROWS]
        sums[:] = block[:, 0]
        for position in range(1, width):
            sums += block[:, position]
    return out


@dataclass(frozen=True)
class Grouping:
    """Elements of `n_groups` groups (cells of SKUs, mostly), built once and reused.

    When the elements are sorted by group, group g owns `start[g]:start[g + 1]`:
    sums are running sums (exact, no detour through float64) and per-element copies of
    per-group values are `np.repeat`s, not gathers. Unsorted groups use bincount."""

    group: I64  # per element
    n_groups: int
    start: I64 | None  # n_groups + 1 offsets when `group` is sorted, else None

    @classmethod
    def of(cls, group: I64, n_groups: int) -> Grouping:
        if np.any(group[1:] < group[:-1]):
            return cls(group, n_groups, None)
        return cls.of_sorted(group, n_groups)

    @classmethod
    def of_sorted(cls, group: I64, n_groups: int) -> Grouping:
        start = np.zeros(n_groups + 1, dtype=np.int64)
        np.cumsum(np.bincount(group, minlength=n_groups), out=start[1:])
        return cls(group, n_groups, start)

    @cached_property
    def sizes(self) -> I64:
        if self.start is None:
            return np.bincount(self.group, minlength=self.n_groups)
        return np.diff(self.start)

    @cached_property
    def width(self) -> int | None:
        """The common size when the elements are sorted and every group has as many
        (then they reshape to a [group, position] table), else None."""
        sizes = self.sizes
        if self.start is None or sizes.size == 0 or sizes.min() != sizes.max():
            return None
        return int(sizes[0])

    def sum(self, values: NDArray[np.generic]) -> I64:
        """Exact integer sums per group (bool counts)."""
        if self.start is None:
            return np.bincount(self.group, weights=values, minlength=self.n_groups).astype(np.int64)
        if self.width:
            # Integer sums are exact in any order: einsum's row sums are the fastest.
            table: Any = self.table(values)  # numpy's einsum stubs know no dtype= cast
            out: I64 = np.einsum("ij->i", table, dtype=np.int64)
            return out
        run = np.zeros(self.group.size + 1, dtype=np.int64)
        np.cumsum(values, out=run[1:])
        return run[self.start[1:]] - run[self.start[:-1]]

    def fsum(self, values: NDArray[np.generic]) -> F64:
        """Float sums per group, added in element order like `np.bincount` (bit for bit:
        its results are what the plans were built on)."""
        if self.width is None:
            return np.bincount(self.group, weights=values, minlength=self.n_groups).astype(
                np.float64, copy=False
            )
        return row_sums(self.table(np.asarray(values, dtype=np.float64)))

    def any(self, mask: Bool) -> Bool:
        """Per group: some element is set."""
        if not self.width:
            return self.sum(mask) > 0
        out = np.zeros(self.n_groups, dtype=bool)
        for column in self.table(mask).T:
            out |= column
        return out

    def table(self, values: NDArray[Scalar]) -> NDArray[Scalar]:
        """[group, position] view of per-element values (only when `width` is set)."""
        assert self.width is not None
        return values.reshape(self.n_groups, self.width)

    def combine(
        self,
        op: np.ufunc,
        per_group: NDArray[np.generic],
        values: NDArray[np.generic],
        out: NDArray[Any] | None = None,
    ) -> NDArray[Any]:
        """`op(spread(per_group), values)`, without the per-element copy of `per_group`
        when the groups have one width (it broadcasts over the table's rows); into
        `out` (per element, may be `values`) when given."""
        if not self.width:
            return op(self.spread(per_group), values, out=out)
        table = None if out is None else self.table(out)
        return op(per_group[:, None], self.table(values), out=table).reshape(-1)

    def spread(self, per_group: NDArray[Scalar]) -> NDArray[Scalar]:
        """Per element, its group's value (or row, for a per-group table)."""
        if self.start is None:
            return per_group[self.group]
        return np.repeat(per_group, self.sizes, axis=0)


class Feature(enum.Enum):
    """Structures beyond one pool row per SKU; a backend declares what it supports."""

    CAPACITY = "shop_capacity"  # per-shop totals across SKUs
    SHARED_CAPACITY = "shared_capacity"  # a shared part counts on a capacity shop
    GROUPS = "supply_groups"  # some shops reach only part of a SKU's pool
    BUNDLES = "bundles"  # combo SKUs consume component stock
    BUDGETS = "value_budgets"  # per-shop stock value limits
    UNIT_COSTS = "unit_costs"  # cells price each unit by its own worth (UnitCosts)


FEATURE_BITS = {feature: 1 << k for k, feature in enumerate(Feature)}


class SegmentKind(enum.IntEnum):
    FLOOR = 0
    TARGET = 1
    OVER = 2
    SHARED = 3
    IDLE_FREE = 4
    IDLE_PENALISED = 5


@dataclass(frozen=True)
class Groups:
    """Supply-group rows: sum of x over `cells[indptr[g]:indptr[g+1]]` (plus the SKU's
    shared part where `with_shared[g]`) is at most `cap[g]`."""

    sku: I64
    cap: I64
    indptr: I64
    cells: I64
    with_shared: Bool


@dataclass(frozen=True)
class Bundles:
    """One row per (bundle, component): a bundle unit beyond the bundle's own stock
    consumes `qty` units of the component."""

    bundle: I64
    component: I64
    qty: I64


@dataclass(frozen=True)
class Budgets:
    """Per-shop value limit: sum over the shop's cells of price * x <= limit (cents)."""

    shop: I64
    limit: I64


# Unit worths are whole numbers 0 .. WORTH_RANGE (the most any unit is worth): fine
# enough that rounding moves no unit's worth by more than 5e-7 of the most, coarse
# enough that costs x units stay far inside int64 (see Problem.scale).
WORTH_BITS = 20
WORTH_RANGE = 1 << WORTH_BITS


@dataclass(frozen=True)
class UnitCosts:
    """Cells whose units above the floor each cost by their own worth (see the module
    docstring). Cell `cell[i]`'s units come in runs `indptr[i]:indptr[i + 1]`: run r
    holds `length[r]` units, from the cell's first unit on (position 0) run after run,
    each worth `worth[r]` (0 .. WORTH_RANGE, not rising from run to run). Units beyond
    the last run are worth 0 (cost as over target)."""

    cell: I64  # ascending
    indptr: I64
    length: I64
    worth: I64

    @classmethod
    def of_values(cls, cell: I64, indptr: I64, length: I64, value: F64) -> UnitCosts:
        """Runs with float values (any unit, such as fen x chance to sell), made whole
        on one scale: the most valuable unit is worth WORTH_RANGE. Neighbouring runs
        of a cell that round to one worth become one run."""
        top = float(value.max()) if value.size else 0.0
        scale = WORTH_RANGE / top if top > 0 else 0.0
        worth = np.rint(np.maximum(value, 0.0) * scale).astype(np.int64)
        run_cell = np.repeat(np.arange(cell.size), np.diff(indptr))
        keep = np.ones(worth.size, dtype=bool)
        keep[1:] = (run_cell[1:] != run_cell[:-1]) | (worth[1:] != worth[:-1])
        starts = np.flatnonzero(keep)
        merged = np.add.reduceat(length, starts) if starts.size else length[:0]
        counts = np.bincount(run_cell[starts], minlength=cell.size)
        return cls(
            cell=cell,
            indptr=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            length=merged.astype(np.int64),
            worth=worth[starts],
        )

    @property
    def run_cell(self) -> I64:
        """Per run, the problem cell it belongs to."""
        return np.repeat(self.cell, np.diff(self.indptr))

    @property
    def run_start(self) -> I64:
        """Per run, the position of its first unit within its cell."""
        ends = np.concatenate([[0], np.cumsum(self.length)])
        return ends[:-1] - np.repeat(ends[self.indptr[:-1]], np.diff(self.indptr))

    def at(self, cells: I64) -> UnitCosts | None:
        """The runs of a problem made of the cells `cells` of this one (new cell i is
        old cell `cells[i]`), None when none of those cells has runs."""
        n_old = int(max(cells.max(initial=-1), self.cell.max(initial=-1))) + 1
        new_of = np.full(n_old, -1, dtype=np.int64)
        new_of[cells] = np.arange(cells.size)
        mine = new_of[self.cell]
        kept = np.flatnonzero(mine >= 0)
        if not kept.size:
            return None
        order = kept[np.argsort(mine[kept], kind="stable")]
        sizes = np.diff(self.indptr)[order]
        first = np.cumsum(sizes) - sizes
        runs = np.repeat(self.indptr[order] - first, sizes) + np.arange(int(sizes.sum()))
        return UnitCosts(
            cell=mine[order],
            indptr=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
            length=self.length[runs],
            worth=self.worth[runs],
        )

    def check(self, n_cells: int) -> None:
        """ValueError unless the runs describe convex costs on existing cells."""
        run_cell = np.repeat(np.arange(self.cell.size), np.diff(self.indptr))
        rising = (run_cell[1:] == run_cell[:-1]) & (self.worth[1:] > self.worth[:-1])
        if np.any(np.diff(self.cell) <= 0) or (self.cell.size and self.cell[-1] >= n_cells):
            raise ValueError("unit costs: cells must be ascending problem cells")
        if np.any(self.length <= 0) or np.any((self.worth < 0) | (self.worth > WORTH_RANGE)):
            raise ValueError(f"unit costs: runs need lengths > 0 and worths 0..{WORTH_RANGE}")
        if np.any(rising):
            raise ValueError("unit costs: a cell's worth rises from one run to the next")


@dataclass(frozen=True)
class Problem:
    """All arrays are numpy; cells are sorted by (sku, shop rank)."""

    sku_ids: list[str]
    shop_ids: list[str]
    cell_sku: I64
    cell_shop: I64
    lb: I64
    ub: I64
    floor: I64
    target: I64
    pool: I64  # per SKU: units to place (cells + shared + idle)
    free_idle: I64  # per SKU: idle units that cost nothing
    shop_rank: I64  # per shop: 0 = first in priority order
    shared: Bool  # per SKU: has a shared part
    in_shared: Bool  # per cell: the cell's shop lists the SKU's shared part
    shop_capacity: I64  # per shop; -1 = no limit
    price_cents: I64  # per SKU, for value budgets
    groups: Groups | None = None
    bundles: Bundles | None = None
    budgets: Budgets | None = None
    unit_costs: UnitCosts | None = None
    features: frozenset[Feature] = field(default_factory=frozenset)
    # The cells grouped by SKU when the builder has it (the compile step does): it
    # must group `cell_sku`. Else built on first use.
    sku_grouping: Grouping | None = field(default=None, repr=False, compare=False)
    # Likewise `shop_rank[cell_shop]`, when the builder has it (see `cell_rank`).
    known_cell_rank: I64 | None = field(default=None, repr=False, compare=False)

    @property
    def n_skus(self) -> int:
        return len(self.sku_ids)

    @property
    def n_shops(self) -> int:
        return len(self.shop_ids)

    @property
    def n_cells(self) -> int:
        return int(self.cell_sku.size)

    @cached_property
    def by_sku(self) -> Grouping:
        """The cells grouped by SKU, for per-SKU sums."""
        if self.sku_grouping is not None:
            return self.sku_grouping
        return Grouping.of(self.cell_sku, self.n_skus)

    @cached_property
    def cell_rank(self) -> I64:
        """Per cell, its shop's rank (read-only, computed once: the closed form and
        every evaluation of the objective read it)."""
        if self.known_cell_rank is not None:
            return self.known_cell_rank
        rank = self.shop_rank[self.cell_shop]
        rank.flags.writeable = False
        return rank

    @cached_property
    def feature_bits(self) -> I64:
        """Per SKU, the structures beyond its pool row that involve it (a bit per
        Feature), computed once per problem: detecting features, partitioning and
        post rules all read it. Read-only."""
        bits = _feature_bits(self)
        bits.flags.writeable = False
        return bits

    @property
    def rank_scale(self) -> int:
        """A power of two above every shop rank: one step of a unit's worth costs a
        multiple of it, so ranks only break ties."""
        return 1 << max(1, int(self.n_shops).bit_length())

    @property
    def scale(self) -> int:
        """Cost unit: the rank scale, times WORTH_RANGE where units have their own worth
        (worths then fit between a target's and an over-target unit's cost). Every
        unit cost is within 4 x scale: 2^25 at 5 shops, 2^35 at 4,095, so a plan's
        cost stays within int64 up to 2^38 units at 5 shops and 2^28 at 4,095 (a
        backend that overflows says so, and the next one in the chain solves)."""
        if self.unit_costs is None:
            return self.rank_scale
        return self.rank_scale << WORTH_BITS


@dataclass(frozen=True)
class Costs:
    """Integer cost per unit of each segment kind (rank added on cell segments)."""

    floor: int
    target: int
    over: int
    shared: int
    idle_free: int
    idle_penalised: int

    @classmethod
    def for_problem(cls, problem: Problem) -> Costs:
        s = problem.scale
        return cls(
            floor=-4 * s,
            target=-2 * s,
            over=s,
            shared=-s - 1,
            idle_free=0,
            idle_penalised=3 * s,
        )


def bundle_unit_cost(problem: Problem, costs: Costs) -> I64:
    """Cost of one bundle made from components, per SKU. Tiny: a bundle listed from
    components is worth its target; over-making is prevented by `idle_penalty`."""
    return np.ones(problem.n_skus, dtype=np.int64)


def idle_penalty(problem: Problem, costs: Costs) -> I64:
    """Per SKU, the cost of a penalised idle unit. A bundle's own idle stock costs more
    than the component units a made bundle would use, so the optimum makes exactly
    max(0, listed - own stock) bundles and `objective` can evaluate it from x alone.
    (Bundles have no free idle for the same reason: see `check_bundles`.)"""
    penalty = np.full(problem.n_skus, costs.idle_penalised, dtype=np.int64)
    if problem.bundles is not None and problem.bundles.bundle.size:
        per_row = costs.idle_penalised * problem.bundles.qty
        extra = np.zeros(problem.n_skus, dtype=np.int64)
        np.add.at(extra, problem.bundles.bundle, per_row)
        is_bundle = np.zeros(problem.n_skus, dtype=bool)
        is_bundle[problem.bundles.bundle] = True
        penalty = np.where(is_bundle, extra + 1, penalty)
    return penalty


def check_bundles(problem: Problem) -> None:
    """Bundles may not have free idle units (see idle_penalty)."""
    if problem.bundles is not None and np.any(problem.free_idle[problem.bundles.bundle] > 0):
        raise ValueError("bundle SKUs must have free_idle = 0")


@dataclass(frozen=True)
class Segments:
    """Cell segments after the hard lower bounds were taken from them.

    `cap[k]` is the room left in segment k; `cost[k]` its unit cost. Segments of one
    cell are listed floor, target, over (increasing cost: the cost is convex)."""

    cell: I64
    kind: I64
    cap: I64
    cost: I64


def cell_segment_bounds(problem: Problem) -> tuple[I64, I64, I64]:
    """Lengths of the floor, target and over segments of each cell, truncated at ub."""
    ub = problem.ub
    s1 = np.minimum(problem.floor, ub)
    s2 = np.minimum(np.maximum(problem.floor, problem.target), ub) - s1
    s3 = ub - s1 - s2
    return s1, s2, s3


def cell_segments(problem: Problem) -> Segments:
    """Room and cost of every cell segment once `lb` units were placed (cheapest first)."""
    costs = Costs.for_problem(problem)
    rank = problem.cell_rank
    s1, s2, s3 = cell_segment_bounds(problem)
    lb = problem.lb
    take1 = np.minimum(lb, s1)
    take2 = np.minimum(lb - take1, s2)
    take3 = lb - take1 - take2
    n = problem.n_cells
    cells = np.arange(n, dtype=np.int64)
    plain = Segments(
        cell=np.concatenate([cells, cells, cells]),
        kind=np.repeat(
            np.array([SegmentKind.FLOOR, SegmentKind.TARGET, SegmentKind.OVER], dtype=np.int64),
            n,
        ),
        cap=np.concatenate([s1 - take1, s2 - take2, s3 - take3]),
        cost=np.concatenate([costs.floor + rank, costs.target + rank, costs.over + rank]).astype(
            np.int64
        ),
    )
    if problem.unit_costs is None:
        return plain
    return _with_worth_segments(problem, plain, s1)


def _with_worth_segments(problem: Problem, plain: Segments, s1: I64) -> Segments:
    """`plain` with the units above the floor of every cell that has unit costs priced
    by their worth: one segment per run (the part of it between the floor and ub), then
    one for the units beyond the last run (worth 0). Those cells' target and over
    segments are closed."""
    u = problem.unit_costs
    assert u is not None
    costs = Costs.for_problem(problem)
    n = problem.n_cells
    step = worth_step(problem)
    run_cell = u.run_cell
    start = u.run_start
    end = start + u.length
    last = np.zeros(n, dtype=np.int64)
    np.maximum.at(last, run_cell, end)
    # The runs, then per cell the rest: positions [lo, hi) each.
    cell = np.concatenate([run_cell, u.cell])
    lo = np.maximum(np.concatenate([start, last[u.cell]]), s1[cell])
    hi = np.minimum(np.concatenate([end, problem.ub[u.cell]]), problem.ub[cell])
    room = np.maximum(hi - np.maximum(lo, problem.lb[cell]), 0)
    worth = np.concatenate([u.worth, np.zeros(u.cell.size, dtype=np.int64)])
    cap = plain.cap.copy()
    cap[n + u.cell] = 0  # target
    cap[2 * n + u.cell] = 0  # over
    return Segments(
        cell=np.concatenate([plain.cell, cell]),
        kind=np.concatenate([plain.kind, np.full(cell.size, SegmentKind.TARGET)]),
        cap=np.concatenate([cap, room]),
        cost=np.concatenate([plain.cost, costs.over - step * worth + problem.cell_rank[cell]]),
    )


def worth_step(problem: Problem) -> int:
    """The cost of one step of a unit's worth: from over-target (worth 0) to a target
    unit's cost (worth WORTH_RANGE) in WORTH_RANGE steps."""
    costs = Costs.for_problem(problem)
    return (costs.over - costs.target) // WORTH_RANGE


class CellArrays(TypedDict):
    """A problem's per-cell arrays (see `cell_arrays`)."""

    cell_sku: I64
    cell_shop: I64
    lb: I64
    ub: I64
    floor: I64
    target: I64
    in_shared: Bool


def cell_arrays(problem: Problem, cells: I64) -> CellArrays:
    """Every per-cell array of the problem at `cells`: what a problem made of some of
    another's cells (a part, a reordering) takes from it."""
    return CellArrays(
        cell_sku=problem.cell_sku[cells],
        cell_shop=problem.cell_shop[cells],
        lb=problem.lb[cells],
        ub=problem.ub[cells],
        floor=problem.floor[cells],
        target=problem.target[cells],
        in_shared=problem.in_shared[cells],
    )


def live_cells(problem: Problem) -> Bool:
    """Cells that take part: they may hold units or list the SKU's shared part."""
    return (problem.ub > 0) | problem.in_shared


def _feature_bits(problem: Problem) -> I64:
    """`Problem.feature_bits`, computed afresh."""
    bits = np.zeros(problem.n_skus, dtype=np.int64)
    live = live_cells(problem)
    capacity = (problem.shop_capacity >= 0)[problem.cell_shop] & live
    np.bitwise_or.at(bits, problem.cell_sku[capacity], FEATURE_BITS[Feature.CAPACITY])
    shared_cap = capacity & problem.in_shared
    np.bitwise_or.at(bits, problem.cell_sku[shared_cap], FEATURE_BITS[Feature.SHARED_CAPACITY])
    if problem.budgets is not None:
        budget_shop = np.zeros(problem.n_shops, dtype=bool)
        budget_shop[problem.budgets.shop] = True
        on_budget = budget_shop[problem.cell_shop] & live
        np.bitwise_or.at(bits, problem.cell_sku[on_budget], FEATURE_BITS[Feature.BUDGETS])
    if problem.groups is not None:
        bits[problem.groups.sku] |= FEATURE_BITS[Feature.GROUPS]
    if problem.bundles is not None:
        bits[problem.bundles.bundle] |= FEATURE_BITS[Feature.BUNDLES]
        bits[problem.bundles.component] |= FEATURE_BITS[Feature.BUNDLES]
    if problem.unit_costs is not None:
        bits[problem.cell_sku[problem.unit_costs.cell]] |= FEATURE_BITS[Feature.UNIT_COSTS]
    return bits


def remaining_pool(problem: Problem) -> I64:
    """Per SKU: pool minus the units forced onto cells by lower bounds."""
    return problem.pool - per_sku(problem, problem.lb)


def per_sku(problem: Problem, x: I64) -> I64:
    """Sum of a per-cell array over each SKU's cells."""
    return problem.by_sku.sum(x)


def per_shop(problem: Problem, x: I64) -> I64:
    """Sum of a per-cell array over each shop's cells."""
    return np.bincount(problem.cell_shop, weights=x, minlength=problem.n_shops).astype(np.int64)


def stock_value(problem: Problem, x: I64) -> F64:
    """Per shop, the value of the units `x` in fen. In float64: units x fen can pass
    int64; a sum up to any budget is exact (below 2**53), and a sum beyond 2**53 is
    beyond every budget (engine/core/limits.py bounds both)."""
    worth = np.multiply(x, problem.price_cents[problem.cell_sku], dtype=np.float64)
    value = np.bincount(problem.cell_shop, weights=worth, minlength=problem.n_shops)
    return value.astype(np.float64, copy=False)  # float64 already: for the type checker


def bundles_made(problem: Problem, x: I64, shared: I64) -> I64:
    """Per SKU: bundle units made from components (own stock is used first)."""
    made = np.zeros(problem.n_skus, dtype=np.int64)
    if problem.bundles is not None and problem.bundles.bundle.size:
        listed = per_sku(problem, x) + shared
        is_bundle = np.zeros(problem.n_skus, dtype=bool)
        is_bundle[problem.bundles.bundle] = True
        made[is_bundle] = np.maximum(0, listed - problem.pool)[is_bundle]
    return made


def idle_units(problem: Problem, x: I64, shared: I64) -> I64:
    """Per SKU: pool units neither allocated nor shared (component use included)."""
    made = bundles_made(problem, x, shared)
    used = per_sku(problem, x) + shared - made
    if problem.bundles is not None and problem.bundles.bundle.size:
        consumed = np.zeros(problem.n_skus, dtype=np.int64)
        np.add.at(
            consumed,
            problem.bundles.component,
            problem.bundles.qty * made[problem.bundles.bundle],
        )
        used = used + consumed
    return problem.pool - used


def objective(problem: Problem, x: I64, shared: I64) -> int:
    """The one objective every backend minimises, evaluated on a whole-unit plan."""
    costs = Costs.for_problem(problem)
    total = cell_cost(problem, x)
    total += int(np.sum(shared)) * costs.shared
    idle = idle_units(problem, x, shared)
    free = np.minimum(idle, problem.free_idle)
    total += int(np.sum(free)) * costs.idle_free
    total += int(np.sum((idle - free) * idle_penalty(problem, costs)))
    if problem.bundles is not None and problem.bundles.bundle.size:
        made = bundles_made(problem, x, shared)
        total += int(np.sum(made * bundle_unit_cost(problem, costs)))
    return total


def cell_cost(problem: Problem, x: I64) -> int:
    """The cost of the units `x` puts on cells (each cell's segments and its shop's
    rank): the objective's part that depends on cells alone."""
    costs = Costs.for_problem(problem)
    # Units on the floor, target and over segments, summed: with s1 and s12 the ends of
    # the floor and target segments, min(x, s1), min(x, s12) - min(x, s1) and
    # x - min(x, s12). Every unit also costs its shop's rank.
    s1 = np.minimum(problem.floor, problem.ub)
    on_floor = int(np.minimum(x, s1, out=s1).sum())
    s12 = np.maximum(problem.floor, problem.target, out=s1)  # s1's buffer, done with
    np.minimum(s12, problem.ub, out=s12)
    up_to_target = int(np.minimum(x, s12, out=s12).sum())
    units = int(x.sum())
    total = costs.floor * on_floor
    total += costs.target * (up_to_target - on_floor)
    total += costs.over * (units - up_to_target)
    if problem.unit_costs is not None:
        total += _worth_cost_change(problem, x)
    return total + int(np.dot(x, problem.cell_rank))


def _worth_cost_change(problem: Problem, x: I64) -> int:
    """What pricing by worth changes in `cell_cost` on the cells that have unit costs:
    their units between floor and target cost as over-target units instead, less
    `worth_step` per step of worth of every unit above the floor."""
    u = problem.unit_costs
    assert u is not None
    costs = Costs.for_problem(problem)
    c = u.cell
    s1 = np.minimum(problem.floor[c], problem.ub[c])
    s12 = np.minimum(np.maximum(problem.floor[c], problem.target[c]), problem.ub[c])
    on_target = np.minimum(x[c], s12) - np.minimum(x[c], s1)
    change = (costs.over - costs.target) * int(on_target.sum())
    run_cell = u.run_cell
    start = u.run_start
    low = np.maximum(start, problem.floor[run_cell])
    high = np.minimum(start + u.length, x[run_cell])
    held = np.maximum(high - low, 0)
    return change - worth_step(problem) * int(np.dot(held, u.worth))


def violations(problem: Problem, x: I64, shared: I64) -> list[str]:
    """Every hard constraint the plan breaks (empty for a feasible plan)."""
    out: list[str] = []
    sku = problem.sku_ids
    if x.shape != (problem.n_cells,) or shared.shape != (problem.n_skus,):
        return [f"plan shape {x.shape}/{shared.shape} does not match the problem"]
    bad = np.flatnonzero((x < problem.lb) | (x > problem.ub))
    for c in bad[:10]:
        out.append(
            f"cell {sku[problem.cell_sku[c]]}@{problem.shop_ids[problem.cell_shop[c]]}: "
            f"{x[c]} outside [{problem.lb[c]}, {problem.ub[c]}]"
        )
    if np.any(shared < 0) or np.any(shared[~problem.shared] != 0):
        out.append("shared part negative or on a SKU without one")
    idle = idle_units(problem, x, shared)
    for i in np.flatnonzero(idle < 0)[:10]:
        out.append(f"SKU {sku[i]}: allocates {-idle[i]} units beyond its pool")
    if np.any(problem.shop_capacity >= 0):
        load = per_shop(problem, x) + shared_load(problem, shared)
        limited = problem.shop_capacity >= 0
        for j in np.flatnonzero(limited & (load > problem.shop_capacity))[:10]:
            out.append(
                f"shop {problem.shop_ids[j]}: {load[j]} units above capacity "
                f"{problem.shop_capacity[j]}"
            )
    if problem.groups is not None:
        out.extend(_group_violations(problem, x, shared))
    if problem.budgets is not None:
        value = stock_value(problem, x)
        for j, limit in zip(problem.budgets.shop, problem.budgets.limit, strict=True):
            if value[j] > limit:
                out.append(f"shop {problem.shop_ids[j]}: value {value[j]:.0f} above {limit} cents")
    return out


def shared_load(problem: Problem, shared: I64) -> I64:
    """Per shop: shared units it lists (each shared shop lists the whole shared part)."""
    cells = np.flatnonzero(problem.in_shared)
    return np.bincount(
        problem.cell_shop[cells],
        weights=shared[problem.cell_sku[cells]],
        minlength=problem.n_shops,
    ).astype(np.int64)


def _group_violations(problem: Problem, x: I64, shared: I64) -> list[str]:
    g = problem.groups
    assert g is not None
    # Summed by row id, not reduceat: reduceat fails on empty rows at the end.
    sizes = np.diff(g.indptr)
    row = np.repeat(np.arange(sizes.size), sizes)
    sums = np.bincount(row, weights=x[g.cells], minlength=sizes.size).astype(np.int64)
    sums = sums + np.where(g.with_shared, shared[g.sku], 0)
    return [
        f"SKU {problem.sku_ids[g.sku[k]]}: {sums[k]} units on shops that reach only {g.cap[k]}"
        for k in np.flatnonzero(sums > g.cap)[:10]
    ]


@dataclass(frozen=True)
class Solution:
    """A backend's answer: whole units per cell and per SKU's shared part."""

    x: I64
    shared: I64
    backend: str
    objective: int
    notes: tuple[str, ...] = ()
    proven: bool = True  # False: a time limit stopped the search (see notes)
