"""The shelf-ranking backends, each exact for the structures it accepts; `fits` says
which accept a problem, and rank.py takes the fastest that does (the planner's pattern).
The backend a caller may force is named by `ShelfSolver`, the API's and CLI's word.

- sort: every candidate's value is a constant times the slot's weight (no candidate
  runs out anywhere) and weights fall with the slot; then the rearrangement inequality
  makes "best score in the best slot" optimal. Pins only remove slots and products.
- assignment: any value per (product, slot), slots a rule forbids (minimum cover);
  scipy's linear_sum_assignment (Hungarian method).
- mip: everything, including category limits (engine/shelf/mip.py).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from engine.core.errors import Conflict, ConflictError
from engine.shelf.problem import I64, ShelfProblem


class ShelfSolver(enum.StrEnum):
    SORT = "sort"
    ASSIGNMENT = "assignment"
    MIP = "mip"


@dataclass
class Ranked:
    """The candidate (a row of problem.value) placed in each free slot."""

    rows: I64
    solver: ShelfSolver
    notes: list[str] = field(default_factory=list)


def fits(problem: ShelfProblem, solver: ShelfSolver) -> bool:
    if solver is ShelfSolver.MIP:
        return True
    if problem.windows:
        return False
    if solver is ShelfSolver.ASSIGNMENT:
        return True
    free_weights = problem.weights[problem.free_slots]
    return bool(
        problem.allowed.all() and problem.steady.all() and np.all(np.diff(free_weights) <= 0)
    )


def no_solution(problem: ShelfProblem) -> ConflictError:
    rules = [w.rule for w in problem.windows]
    rules += ["min_cover"] if problem.shelf.rules.min_cover is not None else []
    detail = "the category limits and minimum cover leave a slot with no product"
    conflict = Conflict(rules=sorted(set(rules)), shops=[problem.shelf.shop], detail=detail)
    return ConflictError([conflict])


def sort_ranking(problem: ShelfProblem) -> Ranked:
    # value = score x weight for every candidate here, so the score is any column
    # divided by its weight; the top free slot has the largest weight.
    score = problem.value[:, 0] / problem.weights[problem.free_slots[0]]
    rows = np.lexsort((np.arange(score.size), -score))[: problem.free_slots.size]
    return Ranked(rows.astype(np.int64), ShelfSolver.SORT)


def assignment_ranking(problem: ShelfProblem) -> Ranked:
    cost = np.where(problem.allowed, problem.value, -np.inf)
    try:
        rows, cols = linear_sum_assignment(cost, maximize=True)
    except ValueError:
        raise no_solution(problem) from None
    placed = np.empty(problem.free_slots.size, dtype=np.int64)
    placed[cols] = rows
    return Ranked(placed, ShelfSolver.ASSIGNMENT)
