"""Shelf rankings: the seed's own case, every solver against brute force on small
random shelves (same optimal objective), and the rules holding on every result."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from engine.core.errors import ConflictError, InputError, SolverError
from engine.shelf.backends import ShelfSolver, fits
from engine.shelf.inputs import ShelfInput, parse_shelf_input
from engine.shelf.mip import mip_ranking
from engine.shelf.problem import build_problem
from engine.shelf.rank import placement, rank, rank_slots
from tests.shelf.reference import best_value, holds, shelf_value, shelves

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def seed_shelf(**rules: Any) -> dict[str, Any]:
    """The article's case: the number-one product is low and cannot be restocked; a
    well-stocked best seller sits further down."""
    return {
        "shop": "tm-b1",
        "slots": 8,
        "products": [
            {
                "id": "TOP",
                "velocity": 10,
                "price": "399.00",
                "stock": 30,
                "restockable": False,
                "category": "running",
                "position": 1,
            },
            {
                "id": "P2",
                "velocity": 6,
                "price": "299.00",
                "stock": 500,
                "category": "running",
                "position": 2,
            },
            {
                "id": "P3",
                "velocity": 5,
                "price": "199.00",
                "stock": 400,
                "category": "socks",
                "position": 3,
            },
            {
                "id": "P4",
                "velocity": 4,
                "price": "259.00",
                "stock": 300,
                "category": "boots",
                "position": 4,
            },
            {
                "id": "P5",
                "velocity": 3,
                "price": "159.00",
                "stock": 200,
                "category": "boots",
                "position": 5,
            },
            {
                "id": "BEST",
                "velocity": 9,
                "price": "359.00",
                "stock": 900,
                "category": "running",
                "position": 6,
            },
            {
                "id": "P7",
                "velocity": 2,
                "price": "159.00",
                "stock": 200,
                "category": "boots",
                "position": 7,
            },
            {
                "id": "P8",
                "velocity": 1,
                "price": "159.00",
                "stock": 200,
                "category": "socks",
                "position": 8,
            },
        ],
        "rules": rules,
    }


def test_seed_case_low_top_product_moves_down_and_best_seller_up() -> None:
    result = rank(parse_shelf_input(seed_shelf()))
    moves = {m.product: m for m in result.moves}
    assert moves["BEST"].slot == 1 and moves["BEST"].move == "up"
    assert moves["BEST"].reason == "sells 9.0/day, 100 days of cover: up 5"
    top = moves["TOP"]
    assert top.move == "down" and top.slot is not None and top.slot > 1
    assert top.reason == f"3 days of cover, no restock: down {top.slot - 1}"


def test_seed_case_restockable_in_time_keeps_its_slot() -> None:
    data = seed_shelf()
    data["products"][0] = {**data["products"][0], "stock": 400}
    data["products"][0].pop("restockable")
    moves = {m.product: m for m in rank(parse_shelf_input(data)).moves}
    assert moves["TOP"].slot == 1 and moves["TOP"].move == "same"


def test_every_solver_gives_the_seed_optimum() -> None:
    shelf = parse_shelf_input(seed_shelf())
    problem = build_problem(shelf)
    best = best_value(shelf)
    assert best is not None
    assert not fits(problem, ShelfSolver.SORT)  # TOP runs out in the top slot
    for solver in (ShelfSolver.ASSIGNMENT, ShelfSolver.MIP):
        result = rank(shelf, solver)
        assert result.solver == solver.value
        assert result.objective == pytest.approx(best, rel=1e-9)


def test_reasons_name_the_rule_that_binds() -> None:
    shelf = parse_shelf_input(
        seed_shelf(category_limits=[{"max": 1, "top": 3}], min_cover={"days": 90, "top": 2})
    )
    result = rank(shelf)
    assert result.solver == "mip"
    reasons = {m.product: m.reason for m in result.moves}
    assert reasons["P2"].startswith("83 days of cover, below the 90 days required in the top 2")
    pinned = rank(parse_shelf_input(seed_shelf(pins={"P8": 1})))
    assert pinned.moves[0].product == "P8" and pinned.moves[0].reason == "pinned to slot 1: up 7"


def test_choice_of_solver_follows_the_structure() -> None:
    steady = seed_shelf()
    steady["products"][0] = {**steady["products"][0], "stock": 900, "restockable": True}
    assert rank(parse_shelf_input(steady)).solver == "sort"
    assert rank(parse_shelf_input(seed_shelf(min_cover={"days": 5, "top": 2}))).solver == (
        "assignment"
    )
    limited = seed_shelf(category_limits=[{"category": "running", "max": 1, "top": 4}])
    assert rank(parse_shelf_input(limited)).solver == "mip"
    with pytest.raises(SolverError, match="mip"):
        rank(parse_shelf_input(limited), ShelfSolver.ASSIGNMENT)


def _check_optimal(shelf: ShelfInput, solve: Any) -> None:
    best = best_value(shelf)
    if best is None:
        with pytest.raises(ConflictError):
            solve(build_problem(shelf))
        return
    problem = build_problem(shelf)
    order = placement(problem, solve(problem))
    shown = [shelf.products[i] for i, _ in sorted(order.items(), key=lambda kv: kv[1])]
    assert holds(shelf, shown)
    assert shelf_value(shelf, shown) == pytest.approx(best, rel=1e-7, abs=1e-6)


@FAST
@given(shelves(limits=False, cover_rule=False, steady=True))
def test_sort_matches_brute_force(data: dict[str, Any]) -> None:
    shelf = parse_shelf_input(data)
    if best_value(shelf) is not None:
        assert fits(build_problem(shelf), ShelfSolver.SORT)
    _check_optimal(shelf, lambda p: rank_slots(p, ShelfSolver.SORT))


@FAST
@given(shelves(limits=False))
def test_assignment_matches_brute_force(data: dict[str, Any]) -> None:
    shelf = parse_shelf_input(data)
    _check_optimal(shelf, lambda p: rank_slots(p, ShelfSolver.ASSIGNMENT))


@FAST
@given(shelves(limits="always"))
def test_mip_matches_brute_force(data: dict[str, Any]) -> None:
    shelf = parse_shelf_input(data)
    _check_optimal(shelf, lambda p: rank_slots(p, ShelfSolver.MIP))


@FAST
@given(shelves(limits="always"))
def test_mip_branch_and_bound_matches_brute_force(data: dict[str, Any]) -> None:
    shelf = parse_shelf_input(data)
    _check_optimal(shelf, lambda p: mip_ranking(p, lp_first=False))


@FAST
@given(shelves())
def test_rules_hold_on_every_ranking(data: dict[str, Any]) -> None:
    shelf = parse_shelf_input(data)
    try:
        result = rank(shelf)
    except ConflictError:
        assert best_value(shelf) is None
        return
    placed = sorted((m for m in result.moves if m.slot is not None), key=lambda m: m.slot or 0)
    assert [m.slot for m in placed] == list(range(1, len(placed) + 1))
    by_id = {p.id: p for p in shelf.products}
    assert holds(shelf, [by_id[m.product] for m in placed])
    for m in result.moves:
        assert m.reason and (m.move == "out") == (m.slot is None)


def test_invalid_input_names_every_product_and_field() -> None:
    data = seed_shelf(pins={"NOPE": 2, "P2": 99})
    data["products"][1] = {**data["products"][1], "days_of_cover": 3.0, "velocity": -1}
    data["products"][2] = {**data["products"][2], "id": "TOP", "colour": "red"}
    with pytest.raises(InputError) as caught:
        parse_shelf_input(data, "shelf.yaml")
    paths = {issue.path for issue in caught.value.issues}
    assert {"products[1].velocity", "products[2].colour"} <= paths
    data = seed_shelf(pins={"NOPE": 2, "P2": 99})
    data["products"][1] = {**data["products"][1], "days_of_cover": 3.0}
    data["products"][2] = {**data["products"][2], "id": "TOP"}
    with pytest.raises(InputError) as caught:
        parse_shelf_input(data, "shelf.yaml")
    text = str(caught.value)
    assert "shelf.yaml" in text and "products[1]: product 'P2'" in text
    assert "products[2].id: duplicate product 'TOP'" in text
    assert "rules.pins.NOPE: unknown product 'NOPE'" in text
    assert "rules.pins.P2: slot 99 is beyond the shelf's 8 slots" in text


def test_conflicting_rules_name_the_rules() -> None:
    with pytest.raises(ConflictError, match="min_cover"):
        rank(parse_shelf_input(seed_shelf(min_cover={"days": 500, "top": 1})))
    with pytest.raises(ConflictError, match="pins, category_limits"):
        rank(
            parse_shelf_input(
                seed_shelf(pins={"P2": 1, "TOP": 2}, category_limits=[{"max": 1, "top": 2}])
            )
        )
