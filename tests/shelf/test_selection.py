"""Product selection: expected units per day from the brand's other shops, stock caps,
category balance, the listing limit; and both inputs built from a snapshot and plan."""

from __future__ import annotations

from typing import Any

import pytest

from engine.core.errors import InputError
from engine.shelf.from_plan import selection_from_plan, shelf_from_plan
from engine.shelf.selection import parse_selection_input, select
from tests.helpers import plan, snapshot


def selection(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "shop": "jd",
        "listing_limit": 3,
        "listed": ["L1"],
        "shop_factors": {"tm": 0.5},
        "max_per_category": 1,
        "candidates": [
            {
                "id": "A",
                "category": "shoes",
                "price": "100.00",
                "stock": 500,
                "velocity_elsewhere": {"tm": 8.0, "dy": 2.0},
            },
            {
                "id": "B",
                "category": "shoes",
                "price": "100.00",
                "stock": 500,
                "velocity_elsewhere": {"tm": 6.0},
            },
            {
                "id": "C",
                "category": "socks",
                "price": "10.00",
                "stock": 14,
                "velocity_elsewhere": {"dy": 9.0},
            },
            {
                "id": "D",
                "category": "bags",
                "price": "50.00",
                "stock": 0,
                "velocity_elsewhere": {"dy": 9.0},
            },
            {
                "id": "E",
                "category": "bags",
                "price": "50.00",
                "stock": 100,
                "expected_velocity": 0.5,
            },
        ],
    }
    data.update(changes)
    return data


def test_picks_best_value_within_room_and_category_balance() -> None:
    result = select(parse_selection_input(selection()))
    assert result.room == 2
    assert [p.product for p in result.picks] == ["A", "E"]
    a = result.picks[0]
    # (8 x 0.5 on tm + 2 on dy) / 2 shops = 3 a day, well within 500 units.
    assert a.units_per_day == pytest.approx(3.0)
    assert (
        a.reason
        == "sells 8.0/day on tm, 2.0/day on dy: 3.0/day expected here, 500 units (167 days)"
    )
    assert result.held_back == ["B: shoes has 1 picks already"]


def test_stock_caps_expected_sales_and_no_stock_is_never_picked() -> None:
    result = select(parse_selection_input(selection(listing_limit=10, max_per_category=None)))
    picks = {p.product: p for p in result.picks}
    assert "D" not in picks
    assert picks["C"].units_per_day == pytest.approx(1.0)  # 14 units over 14 days
    assert "only 14 units here" in picks["C"].reason


def test_invalid_selection_names_the_product() -> None:
    data = selection(value="margin", listed=["A"])
    with pytest.raises(InputError) as caught:
        parse_selection_input(data, "sel.yaml")
    text = str(caught.value)
    assert "candidates[0].id: 'A' is already listed" in text
    assert "candidates[1].margin: product 'B' has no margin" in text


def _shop_snapshot() -> Any:
    velocity = {("S1", "A"): 5.0, ("S1", "B"): 2.5, ("S2", "A"): 4.0, ("S3", "B"): 1.0}
    listed = {("S1", "A"): 10, ("S2", "A"): 5, ("S1", "B"): 5, ("S3", "B"): 3}
    return snapshot(
        pools={"S1": 100, "S2": 50, "S3": 40},
        shops=(("A", 1), ("B", 2)),
        velocity=velocity,
        listed=listed,
    )


def test_inputs_from_a_snapshot_and_its_plan() -> None:
    snap = _shop_snapshot()
    the_plan = plan(snap, [{"id": "r1", "type": "percentage", "shares": {"A": 0.5, "B": 0.5}}])
    shelf = shelf_from_plan(snap, the_plan, "A", slots=1)
    by_id = {p.id: p for p in shelf.products}
    assert sorted(by_id) == ["S1", "S2"]  # the shelf shows A's listings
    assert by_id["S1"].position == 1 and by_id["S2"].position is None
    assert by_id["S1"].stock == 50 and by_id["S1"].velocity == 5.0
    chosen = selection_from_plan(snap, the_plan, "A")
    assert [c.id for c in chosen.candidates] == ["S3"]
    s3 = chosen.candidates[0]
    assert s3.velocity_elsewhere == {"B": 1.0} and s3.stock == 20
    # A sells 5.0 where B sells 2.5 (S1, the product both sell): a factor of 2.
    assert chosen.shop_factors == {"B": 2.0}
    assert chosen.listing_limit == len(chosen.listed) + 10
    with pytest.raises(InputError, match="unknown shop 'Z'"):
        shelf_from_plan(snap, the_plan, "Z")
