"""Every number a rule takes is bounded (engine/core/limits.py): driven through the
extremes, every numeric field of every rule type gives a plan that keeps the invariants,
an InputError naming the rule and the field, or a conflict naming the rule; never any
other exception, never a numpy overflow. The fields come from the rule models."""

from __future__ import annotations

import copy
import warnings
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.core.errors import ConflictError, InputError
from engine.core.io import parse_snapshot
from engine.core.limits import (
    MAX_BUNDLE_QTY,
    MAX_DAYS,
    MAX_FACTOR,
    MAX_UNITS,
    MAX_VELOCITY,
    MAX_WEIGHT,
)
from engine.planning.planner import make_plan
from rules.catalog import RULE_TYPES, RuleBase
from rules.load import parse_ruleset
from tests.extremes import (
    BEYOND_EVERY_BOUND,
    EXTREMES,
    NumericField,
    assert_bundles_hold,
    fill,
    just_beyond,
    numeric_fields,
)
from tests.helpers import plan, quantities, snapshot, snapshot_data
from tests.invariants import assert_plan_invariants

RULE_ID = "r-x"
# The ids a rule's fields name, by what `refs` says they name.
IDS = {"shop": "A", "sku": "S", "component": "T", "rule": "other"}
# Excluded: W2, which holds no stock, so that tests/invariants.py's own count of the
# sellable stock (every sellable warehouse) stays the plan's.
EXCLUDED = {"exclude_warehouse": "W2"}
# A rule a campaign window can name; it changes nothing (the default composition).
OTHER = {"id": "other", "type": "stock_composition"}

SNAPSHOT = snapshot_data(
    pools={"S": 10, "T": 6},
    velocity={("S", "A"): 2.0, ("S", "B"): 1.0, ("T", "A"): 0.5},
    listed={("S", "A"): 3},
    warehouses=(("W1", "sellable"), ("W2", "sellable")),
)

CASES = [(name, field) for name, cls in sorted(RULE_TYPES.items()) for field in numeric_fields(cls)]


def rule_with(name: str, field: NumericField, value: Any, extra: str | None) -> dict[str, Any]:
    cls = RULE_TYPES[name]

    def naming(where: str) -> str:
        kind = cls.refs.get(where, "")
        return EXCLUDED.get(name, "W1") if kind == "warehouse" else IDS.get(kind, "x")

    return {"id": RULE_ID} | fill(cls, naming, field.path, value, extra)


def extra_field(name: str, field: NumericField) -> str | None:
    """The optional field (if any) to fill in besides the required ones for the rule to
    be valid with a plain value in `field`: the rule type's own constraints (one of two
    fields, a window) then hold, so the extremes test the field's bound, not those."""
    cls: type[RuleBase] = RULE_TYPES[name]
    for neutral in (1, 0):
        for extra in [None, *(n for n, f in cls.model_fields.items() if not f.is_required())]:
            try:
                parse_ruleset({"rules": [rule_with(name, field, neutral, extra), OTHER]})
            except InputError:
                continue
            return extra
    raise AssertionError(f"{name}: no valid rule to set {field} in")


def outcome(rules: list[dict[str, Any]], data: dict[str, Any]) -> str:
    """'plan' (invariants checked), 'input' or 'conflict'; any other exception, or a
    numpy warning (an overflow, an invalid cast), fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            snap = parse_snapshot(data)
            ruleset = parse_ruleset({"rules": rules})
            result = make_plan(snap, ruleset)
        except InputError as err:
            return f"input:{'|'.join(str(i) for i in err.issues)}"
        except ConflictError as err:
            return f"conflict:{'|'.join(name for c in err.conflicts for name in c.rules)}"
    if any(r["type"] == "bundle" for r in rules) or any(s.components for s in snap.skus):
        assert_bundles_hold(snap, ruleset, result)
    else:  # the rules as validated: "5" is 5 once a lax field took it
        assert_plan_invariants(snap, ruleset.model_dump(exclude_unset=True)["rules"], result)
    return "plan"


def check_rule(name: str, field: NumericField, value: Any) -> str:
    """The outcome of a plan with `value` in the rule's field (see `outcome`), checked:
    an InputError names the rule and the field, a conflict names the rule."""
    rules = [rule_with(name, field, value, extra_field(name, field)), OTHER]
    found = outcome(rules, copy.deepcopy(SNAPSHOT))
    kind, _, detail = found.partition(":")
    if kind == "input":
        head = f"rules[0] (id {RULE_ID})"
        named = [i for i in detail.split("|") if i.startswith(head) and field.name in i]
        assert named, f"{name}.{field} = {value!r}: {detail}"
    elif kind == "conflict":
        assert RULE_ID in detail.split("|"), f"{name}.{field} = {value!r}: {detail}"
    return found


@pytest.mark.parametrize(("name", "field"), CASES, ids=[f"{n}.{f}" for n, f in CASES])
def test_every_numeric_field_through_the_extremes(name: str, field: NumericField) -> None:
    kinds = {value_id(v): check_rule(name, field, v).partition(":")[0] for v in EXTREMES}
    # The field was reached: some value made a plan (or a conflict, for amounts the
    # small snapshot cannot hold), so the refusals are the bound's, not the builder's.
    assert {"plan", "conflict"} & set(kinds.values()), kinds
    for value in BEYOND_EVERY_BOUND:
        assert kinds[value_id(value)] == "input", (value, kinds)


def value_id(value: Any) -> str:
    return f"{type(value).__name__}:{value!r}"[:60]


# Fields that declare their bound (`le`); the others are bounded by a validator or are
# [0, 1] shares, which the extremes above cover.
BOUNDED = [(n, f) for n, f in CASES if f.upper is not None]


@pytest.mark.parametrize(("name", "field"), BOUNDED, ids=[f"{n}.{f}" for n, f in BOUNDED])
def test_declared_bound_is_the_one_refused(name: str, field: NumericField) -> None:
    """Where a field declares its bound (`le`), the bound itself is taken and the next
    value past it is refused, naming the field."""
    assert field.upper is not None
    assert check_rule(name, field, just_beyond(field.upper)).startswith("input:")
    at_bound = check_rule(name, field, field.upper)
    # Taken, or refused for another reason (velocity_class: classes.A above classes.B).
    assert "less than or equal" not in at_bound, at_bound


NUMBERS = st.one_of(
    st.sampled_from(EXTREMES),
    st.integers(),
    st.floats(),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.integers(min_value=0, max_value=MAX_UNITS),
    st.floats(min_value=0, max_value=MAX_DAYS),
)


@settings(max_examples=400, deadline=None)
@given(case=st.sampled_from(CASES), value=NUMBERS)
def test_any_number_in_any_rule_field(case: tuple[str, NumericField], value: Any) -> None:
    check_rule(*case, value)


# --- what used to be silently wrong --------------------------------------------------


def test_equal_weights_at_the_bound_split_evenly() -> None:
    snap = snapshot(pools={"S": 10}, shops=(("A", 1), ("B", 2)))
    weights = {"A": MAX_WEIGHT, "B": MAX_WEIGHT}
    p = plan(snap, [{"id": "w", "type": "weighted", "weights": weights}])
    assert quantities(p) == {"A": 5, "B": 5}


def test_safety_days_at_the_bound_reserve_the_whole_pool() -> None:
    """The longest cover at the fastest velocity, uplifted the most, over many shops:
    the need is far beyond the pool, so the whole pool is held back (it used to wrap
    around int64 and hold back nothing)."""
    shops = tuple((f"H{i}", i) for i in range(40))
    velocity = {("S", shop): MAX_VELOCITY for shop, _ in shops}
    snap = snapshot(pools={"S": MAX_UNITS}, shops=shops, velocity=velocity)
    rules = [
        {"id": "up", "type": "promotion_uplift", "factor": MAX_FACTOR},
        {"id": "days", "type": "safety_stock_days", "days": MAX_DAYS},
    ]
    p = plan(snap, rules)
    assert sum(quantities(p).values()) == 0
    assert [(u.quantity, u.reason) for u in p.unallocated] == [
        (MAX_UNITS, "safety_stock_days days")
    ]


def test_cover_target_at_the_bounds_shares_the_pool_by_need() -> None:
    """Needs of days x velocity x factor far above the pool: the pool is shared in
    proportion to need (need x pool passes int64, and used to wrap)."""
    velocity = {("S", "A"): MAX_VELOCITY, ("S", "B"): MAX_VELOCITY / 4}
    snap = snapshot(pools={"S": MAX_UNITS}, shops=(("A", 1), ("B", 2)), velocity=velocity)
    rules = [
        {"id": "up", "type": "promotion_uplift", "factor": MAX_FACTOR},
        {"id": "cover", "type": "cover_target", "days": MAX_DAYS},
    ]
    assert quantities(plan(snap, rules)) == {"A": 800_000_000, "B": 200_000_000}


def test_value_budget_within_the_bounds_is_exact() -> None:
    """Units x price past int64 is compared with the budget as it is: 2**29 units at
    2**35 fen is 2**64 fen, which int64 wraps around to 0, within any budget."""
    units = 2**29
    data = snapshot_data(pools={"S": units}, shops=(("A", 1),))
    data["skus"][0]["price"] = f"{Decimal(2**35) / 100:.2f}"
    rules = [
        {"id": "fix", "type": "fixed", "quantities": {"A": units}},
        {"id": "budget", "type": "value_budget", "budgets": {"A": "1000.00"}},
    ]
    with pytest.raises(ConflictError) as caught:
        make_plan(parse_snapshot(data), parse_ruleset({"rules": rules}))
    assert caught.value.conflicts[0].rules == ["budget", "fix"]


def test_bundles_at_the_bounds_make_a_plan() -> None:
    """The largest bundle qty over the largest stock in many warehouses: the solver
    keeps every pool whole (a larger qty let it draw units beyond a pool)."""
    warehouses = tuple((f"W{i}", "sellable") for i in range(10))
    stock = [
        {"sku": sku, "warehouse": w, "on_hand": MAX_UNITS, "in_transit": MAX_UNITS}
        for sku in ("S", "T")
        for w, _ in warehouses
    ]
    data = snapshot_data(
        pools={"S": 0, "T": 0},
        warehouses=warehouses,
        stock=stock,
        velocity={("S", "A"): MAX_VELOCITY, ("T", "B"): 3.0},
    )
    component = {"sku": "T", "qty": MAX_BUNDLE_QTY}
    rules = [{"id": "kit", "type": "bundle", "sku": "S", "components": [component]}]
    assert outcome(rules, data) == "plan"


def test_priority_fill_with_many_uncapped_shops_targets_nothing_beyond_the_pool() -> None:
    """Uncapped shops' running sums used to pass int64 from the sixth shop on, giving
    those shops targets of 2.3e18 units."""
    shops = tuple((f"H{i}", i) for i in range(8))
    p = plan(snapshot(pools={"S": 10}, shops=shops), [{"id": "pf", "type": "priority_fill"}])
    assert [(a.shop, a.quantity, a.target) for a in p.allocations if a.target] == [("H0", 10, 10)]
