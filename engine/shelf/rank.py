"""Shelf ranking end to end: input -> problem -> the fastest exact solver that fits ->
the new order with each product's move and reason."""

from __future__ import annotations

import time

import numpy as np
from pydantic import BaseModel, ConfigDict

from engine.core.errors import SolverError
from engine.shelf.backends import (
    Ranked,
    ShelfSolver,
    assignment_ranking,
    fits,
    sort_ranking,
)
from engine.shelf.inputs import ShelfInput
from engine.shelf.mip import mip_ranking
from engine.shelf.moves import Move, moves
from engine.shelf.problem import ShelfProblem, build_problem, horizon_sales


class Ranking(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shop: str
    solver: str
    slots: int
    candidates: int
    horizon_days: float
    objective: float  # the value maximised: boosted, less the stock-out penalty
    expected_sales: float  # sales value over the horizon of the products on the shelf
    timing: dict[str, float]
    notes: list[str]
    moves: list[Move]


def rank_slots(
    problem: ShelfProblem, solver: ShelfSolver | None = None, time_limit_s: float = 60.0
) -> Ranked:
    """The optimal candidate per free slot, by the given solver or the fastest that fits."""
    if problem.free_slots.size == 0:
        return Ranked(np.zeros(0, dtype=np.int64), solver or ShelfSolver.SORT)
    for name in [solver] if solver is not None else list(ShelfSolver):
        if not fits(problem, name):
            continue
        if name is ShelfSolver.SORT:
            return sort_ranking(problem)
        if name is ShelfSolver.ASSIGNMENT:
            return assignment_ranking(problem)
        return mip_ranking(problem, time_limit_s)
    raise SolverError(str(solver), "unsupported", "these shelf rules need the mip solver")


def placement(problem: ShelfProblem, ranked: Ranked) -> dict[int, int]:
    """Product index -> slot (0-based), pins included."""
    order = {product: slot for slot, product in problem.pinned.items()}
    for slot, row in zip(problem.free_slots, ranked.rows, strict=True):
        order[int(problem.candidates[row])] = int(slot)
    return order


def objective(problem: ShelfProblem, order: dict[int, int]) -> float:
    return sum(problem.slot_value(i, s) for i, s in order.items())


def rank(
    shelf: ShelfInput, solver: ShelfSolver | None = None, time_limit_s: float = 60.0
) -> Ranking:
    started = time.perf_counter()
    problem = build_problem(shelf)
    built = time.perf_counter()
    ranked = rank_slots(problem, solver, time_limit_s)
    solved = time.perf_counter()
    order = placement(problem, ranked)
    placed = np.array(sorted(order), dtype=np.int64)
    slots = np.array([order[i] for i in placed], dtype=np.int64)
    sold, _ = horizon_sales(
        problem.velocity[placed],
        problem.stock[placed],
        problem.lead[placed],
        problem.weights[slots],
        problem.horizon,
    )
    prices = np.array([float(shelf.products[i].price) for i in placed])
    return Ranking(
        shop=shelf.shop,
        solver=ranked.solver.value,
        slots=int(problem.weights.size),
        candidates=len(shelf.products),
        horizon_days=problem.horizon,
        objective=round(objective(problem, order), 4),
        expected_sales=round(float(prices @ sold), 2),
        timing={
            "build_s": round(built - started, 4),
            "solve_s": round(solved - built, 4),
        },
        notes=ranked.notes,
        moves=moves(problem, order),
    )
