"""Runs a compiled problem through the backends: the separable SKUs in one closed-form
pass, the coupled parts on the fastest exact backend for their structure, with fallback
to the next backend when one fails (numerical trouble, a time limit, a missing library).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from engine.core.errors import SolverError
from solvers.base import Backend
from solvers.closed import ClosedForm
from solvers.problem import Problem, Solution, violations
from solvers.registry import available_backends, from_name
from solvers.split import components, partition, relaxable, restrict, whole


@dataclass
class Part:
    backend: str
    skus: int
    cells: int
    objective: int
    seconds: float
    notes: list[str] = field(default_factory=list)
    proven: bool = True
    bound: int | None = None  # set with `gap` where relaxation and repair solved the part
    gap: float | None = None


@dataclass
class Solved:
    x: np.ndarray
    shared: np.ndarray
    parts: list[Part]
    # Per SKU, the component it was solved with (no row spans two); None when the
    # whole problem was solved as one (a forced backend).
    label: np.ndarray | None = None
    # Per shop, the capacity prices relax and repair found (a start for a second pass).
    price: np.ndarray | None = None


def candidates(problem: Problem) -> Iterator[Backend]:
    """Backends able to solve the problem exactly, fastest first; PuLP last.

    The closed form, the fastest, comes first wherever it fits; the other backends
    (and their solver libraries) are loaded only when it does not fit or fails."""
    if ClosedForm.supports(problem):
        yield ClosedForm()
    from solvers.lp import Mip  # with OR-Tools' model builder and scipy.sparse: on demand

    fits = [b() for b in available_backends() if b.supports(problem) and b is not ClosedForm]
    # A plan at the MIP's time limit beats no plan: it is returned with its proven gap.
    yield from (Mip(accept_feasible=True) if isinstance(b, Mip) else b for b in fits)


def solve_part(
    problem: Problem, chain: Iterable[Backend], time_limit_s: float
) -> tuple[Solution, list[str]]:
    errors: list[str] = []
    for backend in chain:
        try:
            solution = backend.solve(problem, time_limit_s)
        except SolverError as err:
            if err.status == "infeasible":
                raise
            errors.append(str(err))
            continue
        broken = violations(problem, solution.x, solution.shared)
        if broken:
            errors.append(f"{backend.name}: plan breaks {broken[0]}")
            continue
        return solution, errors
    raise SolverError("planner", "failed", "; ".join(errors) or "no backend fits")


def solve(
    problem: Problem,
    solver: str | None = None,
    time_limit_s: float = 60.0,
    price_hint: np.ndarray | None = None,
) -> Solved:
    """Solve the whole problem; `solver` forces one backend for every part;
    `price_hint`: capacity prices of a like problem, where relax and repair starts."""
    # Filled part by part, allocated at the first part that is not the whole problem
    # (a part that is hands over its arrays).
    x: np.ndarray | None = None
    shared: np.ndarray | None = None
    parts: list[Part] = []
    label = components(problem) if solver is None else None
    price: np.ndarray | None = None
    everything = [np.ones(problem.n_skus, dtype=bool)]
    for skus in partition(problem, label) if label is not None else everything:
        if np.all(skus):  # one part: the whole problem, no index arrays
            sub, sku_idx, cell_idx = whole(problem), None, None
        else:
            sub, sku_idx, cell_idx = restrict(problem, skus)
        if solver is not None:
            forced = from_name(solver)
            if not forced.supports(sub):
                missing = ", ".join(sorted(f.value for f in sub.features - forced.features))
                raise SolverError(solver, "unsupported", f"the problem has {missing}")
            chain: Iterable[Backend] = [forced]
        else:
            chain = candidates(sub)
        started = time.perf_counter()
        bound: int | None = None
        gap: float | None = None
        if solver is None and relaxable(sub):
            solution, errors, bound, gap, found = _relax_or_chain(
                sub, chain, time_limit_s, price_hint
            )
            if found is not None:
                price = found if price is None else np.maximum(price, found)
        else:
            solution, errors = solve_part(sub, chain, time_limit_s)
        if sku_idx is None or cell_idx is None:
            x, shared = solution.x, solution.shared  # one part: the whole problem
        else:
            if x is None or shared is None:
                x = np.zeros(problem.n_cells, dtype=np.int64)
                shared = np.zeros(problem.n_skus, dtype=np.int64)
            x[cell_idx] = solution.x
            shared[sku_idx] = solution.shared
        parts.append(
            Part(
                backend=solution.backend,
                skus=sub.n_skus,
                cells=sub.n_cells,
                objective=solution.objective,
                seconds=time.perf_counter() - started,
                notes=[*errors, *solution.notes],
                proven=solution.proven,
                bound=bound,
                gap=gap,
            )
        )
    if x is None or shared is None:  # no parts
        x = np.zeros(problem.n_cells, dtype=np.int64)
        shared = np.zeros(problem.n_skus, dtype=np.int64)
    return Solved(x=x, shared=shared, parts=parts, label=label, price=price)


def solve_again(
    problem: Problem,
    first: Solved,
    changed: np.ndarray,
    solver: str | None = None,
    time_limit_s: float = 60.0,
) -> Solved:
    """Solve `problem`, which differs from the one `first` solved only in the `changed`
    cells (bounds the post rules moved), again: only the components with a changed
    cell are solved; the others keep `first`'s plan. That plan stays optimal for them:
    their cells and rows are as they were, and no row ties them to a changed cell
    (closing cells only splits components, never joins them)."""
    if first.label is None:
        return solve(problem, solver, time_limit_s)
    touched = np.isin(first.label, np.unique(first.label[problem.cell_sku[changed]]))
    if touched.all():
        return solve(problem, solver, time_limit_s, first.price)
    x, shared = first.x.copy(), first.shared.copy()
    if not touched.any():
        return Solved(x=x, shared=shared, parts=[], label=first.label)
    sub, sku_idx, cell_idx = restrict(problem, touched)
    again = solve(sub, solver, time_limit_s, first.price)
    x[cell_idx] = again.x
    shared[sku_idx] = again.shared
    label = first.label.copy()
    if again.label is not None:  # the touched SKUs' components may have split
        label[sku_idx] = first.label.max() + 1 + again.label
    return Solved(x=x, shared=shared, parts=again.parts, label=label)


def _exact(problem: Problem, time_limit_s: float) -> Solution:
    return solve_part(problem, candidates(problem), time_limit_s)[0]


def _relax_or_chain(
    problem: Problem, chain: Iterable[Backend], time_limit_s: float, hint: np.ndarray | None
) -> tuple[Solution, list[str], int | None, float | None, np.ndarray | None]:
    """A part where bundles meet a capacity or budget row: relax and repair within
    its proven gap (solvers/relax.py), else the backend chain (the whole MIP)."""
    from solvers.relax import solve_relaxed  # with the LP's libraries: on demand

    try:
        relaxed = solve_relaxed(problem, _exact, time_limit_s, price_hint=hint)
    except SolverError as err:
        solution, errors = solve_part(problem, chain, time_limit_s)
        return solution, [f"relax and repair refused: {err}", *errors], None, None, None
    return relaxed.solution, [], relaxed.bound, relaxed.gap, relaxed.price
