"""Every number of the shelf input is bounded (engine/core/limits.py): driven through the
extremes, each numeric field gives a ranking, an InputError naming the field (HTTP 422)
or a conflict between the shelf rules; a number beyond every bound is always the
InputError (velocity 1e308 used to rank into infinities and end as a 409)."""

from __future__ import annotations

import copy
import math
import warnings
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.core.errors import ConflictError, InputError
from engine.shelf.inputs import ShelfInput, parse_shelf_input
from engine.shelf.rank import rank
from tests.extremes import BEYOND_EVERY_BOUND, EXTREMES, NumericField, holds, numeric_fields, set_at

SHELF: dict[str, Any] = {
    "shop": "tm-b1",
    "slots": 3,
    "weights": [1.0, 0.6, 0.4],
    "products": [
        {
            "id": "A",
            "velocity": 4,
            "price": "99.00",
            "margin": "30.00",
            "stock": 30,
            "restock_days": 3,
            "category": "x",
            "position": 1,
        },
        {"id": "B", "velocity": 2, "price": "59.00", "days_of_cover": 20, "new": True},
        {"id": "C", "velocity": 1, "price": "19.00", "stock": 100, "category": "x"},
    ],
    "rules": {
        "horizon_days": 14,
        "stockout_penalty": 0.5,
        "restock_days": 7,
        "new_boost": 1.5,
        "pins": {"A": 1},
        "category_limits": [{"category": "x", "max": 1, "top": 2}],
        "min_cover": {"days": 1, "top": 1},
    },
}
# The same shelf with geometric weights (`decay` and `weights` exclude each other): the
# shelf every field but `weights` is driven in, so that `slots` needs no weights of its own.
DECAYING = {k: v for k, v in SHELF.items() if k != "weights"} | {"decay": 0.8}
FIELDS = numeric_fields(ShelfInput)


def check_shelf(field: NumericField, value: Any) -> str:
    """'ranked', 'input' (an issue names the field) or 'conflict'; any other exception,
    or a numpy warning, fails the test."""
    data = copy.deepcopy(DECAYING if holds(DECAYING, field.path) else SHELF)
    assert set_at(data, field.path, value), field
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            shelf = parse_shelf_input(data)
            ranking = rank(shelf)
        except InputError as err:
            assert any(field.name in i.path for i in err.issues), f"{field}={value!r}: {err}"
            return "input"
        except ConflictError:
            return "conflict"
    assert ranking.slots == min(shelf.slots, len(shelf.products))
    assert math.isfinite(ranking.objective) and math.isfinite(ranking.expected_sales)
    return "ranked"


@pytest.mark.parametrize("field", FIELDS, ids=[str(f) for f in FIELDS])
def test_every_shelf_field_through_the_extremes(field: NumericField) -> None:
    kinds = {f"{type(v).__name__}:{v!r}"[:60]: check_shelf(field, v) for v in EXTREMES}
    assert "ranked" in kinds.values(), kinds
    for value in BEYOND_EVERY_BOUND:
        assert check_shelf(field, value) == "input", value


@settings(max_examples=200, deadline=None)
@given(
    field=st.sampled_from(FIELDS),
    value=st.one_of(st.sampled_from(EXTREMES), st.integers(), st.floats()),
)
def test_any_number_in_any_shelf_field(field: NumericField, value: Any) -> None:
    check_shelf(field, value)


def test_velocity_1e308_is_refused_naming_it() -> None:
    data = copy.deepcopy(SHELF)
    data["products"][1]["velocity"] = 1e308
    with pytest.raises(InputError) as caught:
        parse_shelf_input(data)
    assert [i.path for i in caught.value.issues] == ["products[1].velocity"]
