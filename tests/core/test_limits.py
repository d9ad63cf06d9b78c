"""Every number a snapshot takes is bounded (engine/core/limits.py): driven through the
extremes under a few rulesets, every numeric field of the snapshot gives a plan that
keeps the invariants or an InputError naming the field; never any other exception, never
a numpy overflow. The fields come from the snapshot model."""

from __future__ import annotations

import copy
import warnings
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.core.errors import InputError
from engine.core.io import parse_snapshot
from engine.core.limits import MAX_MONEY, MAX_UNITS, MAX_VELOCITY
from engine.core.snapshot import Sku, Snapshot
from engine.planning.planner import make_plan
from rules.load import parse_ruleset
from tests.extremes import (
    BEYOND_EVERY_BOUND,
    EXTREMES,
    NumericField,
    assert_bundles_hold,
    just_beyond,
    numeric_fields,
    set_at,
)
from tests.helpers import snapshot_data
from tests.invariants import assert_plan_invariants

# Every section holds a row, so every field has a place; the bundle K (two T) only where
# its components are driven (tests/invariants.py does not know bundles).
SNAPSHOT = snapshot_data(
    pools={"S": 10, "T": 6},
    velocity={("S", "A"): 2.0, ("S", "B"): 1.0, ("T", "A"): 0.5},
    listed={("S", "A"): 3},
)
# Sales history of the two days before as_of, on a cell with no velocity row.
SNAPSHOT["history"] = [
    {"sku": "T", "shop": "B", "start": "2026-11-09", "units": [1, 2], "listed": [5, 5]}
]
BUNDLED = snapshot_data(
    pools={"S": 10, "T": 6, "K": 1},
    velocity={("S", "A"): 2.0, ("T", "A"): 0.5, ("K", "C"): 1.0},
    components={"K": [{"sku": "T", "qty": 2}]},
)
# The rules that read the snapshot's numbers: velocity (split, cover, reserve), price.
RULESETS = {
    "default": [],
    "cover": [{"id": "cover", "type": "cover_target", "days": 30}],
    "days": [{"id": "days", "type": "safety_stock_days", "days": 7}],
    "budget": [{"id": "budget", "type": "value_budget", "budgets": {"A": "1000.00"}}],
}
FIELDS = numeric_fields(Snapshot)


def test_every_section_of_the_snapshot_is_covered() -> None:
    assert {str(f) for f in FIELDS} >= {
        "shops[].priority",
        "skus[].price",
        "skus[].components[].qty",
        "stock[].on_hand",
        "stock[].transfer_in_transit",
        "velocity[].units_per_day",
        "listed[].quantity",
        "history[].units[]",
        "history[].listed[]",
    }


def check_snapshot(field: NumericField, value: Any, rules: list[dict[str, Any]]) -> str:
    """'plan' (invariants checked) or 'input' (an issue names the field); any other
    exception, or a numpy warning (an overflow, an invalid cast), fails the test."""
    bundled = "components" in field.path
    data = copy.deepcopy(BUNDLED if bundled else SNAPSHOT)
    assert set_at(data, field.path, value), field
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            snap = parse_snapshot(data)
            ruleset = parse_ruleset({"rules": rules})
            plan = make_plan(snap, ruleset)
        except InputError as err:
            named = [i for i in err.issues if field.name in i.path]
            assert named, f"{field} = {value!r}: {err}"
            return "input"
    if bundled:
        assert_bundles_hold(snap, ruleset, plan)
    else:
        assert_plan_invariants(snap, rules, plan)
    return "plan"


@pytest.mark.parametrize("rules", list(RULESETS.values()), ids=list(RULESETS))
@pytest.mark.parametrize("field", FIELDS, ids=[str(f) for f in FIELDS])
def test_every_snapshot_field_through_the_extremes(
    field: NumericField, rules: list[dict[str, Any]]
) -> None:
    kinds = {f"{type(v).__name__}:{v!r}"[:60]: check_snapshot(field, v, rules) for v in EXTREMES}
    assert "plan" in kinds.values(), kinds
    for value in BEYOND_EVERY_BOUND:
        assert check_snapshot(field, value, rules) == "input", value


# Money is bounded by its parser instead (test_money_bound).
BOUNDED = [f for f in FIELDS if f.upper is not None]


@pytest.mark.parametrize("field", BOUNDED, ids=[str(f) for f in BOUNDED])
def test_declared_bound_is_the_one_refused(field: NumericField) -> None:
    assert field.upper is not None
    assert check_snapshot(field, field.upper, []) == "plan"
    assert check_snapshot(field, just_beyond(field.upper), []) == "input"


@settings(max_examples=300, deadline=None)
@given(
    field=st.sampled_from(FIELDS),
    value=st.one_of(
        st.sampled_from(EXTREMES),
        st.integers(),
        st.floats(),
        st.integers(min_value=0, max_value=MAX_UNITS),
        st.floats(min_value=0, max_value=MAX_VELOCITY),
        st.decimals(min_value=0, max_value=MAX_MONEY, places=2).map(lambda d: f"{d:.2f}"),
    ),
    rules=st.sampled_from(list(RULESETS.values())),
)
def test_any_number_in_any_snapshot_field(
    field: NumericField, value: Any, rules: list[dict[str, Any]]
) -> None:
    check_snapshot(field, value, rules)


@pytest.mark.parametrize(
    ("price", "taken"),
    [
        (f"{MAX_MONEY:.2f}", True),
        (int(MAX_MONEY), True),
        ("399.5", True),
        (f"{MAX_MONEY + Decimal('0.01'):.2f}", False),
        (int(MAX_MONEY) + 1, False),
        ("1.005", False),  # a tenth of a fen would be cut off in the value budgets
        ("1e3", False),
        (399.0, False),
    ],
)
def test_money_bound(price: Any, taken: bool) -> None:
    if taken:
        assert Sku(id="S", brand="b", price=price).price == Decimal(price)
        return
    data = copy.deepcopy(SNAPSHOT)
    data["skus"][0]["price"] = price
    with pytest.raises(InputError) as caught:
        parse_snapshot(data)
    assert [i.path for i in caught.value.issues] == ["skus[0].price"]
