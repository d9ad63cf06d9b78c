"""Hypothesis: random snapshots and rulesets, every plan keeps the invariants."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.core.errors import ConflictError
from tests.helpers import plan, snapshot
from tests.invariants import assert_plan_invariants, plan_bytes

SHOPS = ("A", "B", "C", "D")


@st.composite
def cases(draw: st.DrawFn) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    n_shops = draw(st.integers(2, 4))
    shops = SHOPS[:n_shops]
    n_skus = draw(st.integers(1, 5))
    pools = {f"S{i}": draw(st.integers(0, 60)) for i in range(n_skus)}
    velocity = {
        (sku, shop): draw(st.sampled_from([0.0, 0.5, 1.0, 3.0, 7.5]))
        for sku in pools
        for shop in shops
    }
    share_rule = draw(
        st.sampled_from(
            [
                "percentage",
                "percentage_floor",
                "equal_split",
                "weighted",
                "velocity_proportional",
                "days_of_cover_balance",
                "priority_fill",
                "shared_pool",
                "cover_target",
                "expected_sales",
                "none",
            ]
        )
    )
    rules: list[dict[str, Any]] = []
    if share_rule in ("percentage", "percentage_floor"):
        # Shares may add up to more than 100%: the common misconfiguration.
        shares = {s: draw(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.7, 1.0])) for s in shops}
        rule = {"id": "share", "type": "percentage", "shares": shares}
        if share_rule == "percentage_floor":
            rule["rounding"] = "floor"
        rules.append(rule)
    elif share_rule == "weighted":
        rules.append(
            {
                "id": "share",
                "type": "weighted",
                "weights": {s: float(i + 1) for i, s in enumerate(shops)},
            }
        )
    elif share_rule == "priority_fill":
        rules.append(
            {
                "id": "share",
                "type": "priority_fill",
                "quantities": {shops[0]: draw(st.integers(0, 20))},
            }
        )
    elif share_rule == "cover_target":
        rules.append(
            {"id": "share", "type": "cover_target", "days": draw(st.sampled_from([1.0, 3.0, 7.0]))}
        )
    elif share_rule == "expected_sales":
        horizon = draw(st.sampled_from([1.0, 7.0]))
        rules.append({"id": "share", "type": "expected_sales", "horizon_days": horizon})
    elif share_rule != "none":
        rules.append({"id": "share", "type": share_rule})
    if draw(st.booleans()):
        rules.append({"id": "safety", "type": "safety_stock", "quantity": draw(st.integers(0, 15))})
    if draw(st.booleans()):
        rules.append(
            {"id": "cap", "type": "max_cap", "quantities": {shops[-1]: draw(st.integers(0, 25))}}
        )
    if draw(st.booleans()):
        rules.append(
            {"id": "floor", "type": "min_floor", "quantities": {shops[1]: draw(st.integers(0, 10))}}
        )
    if draw(st.booleans()):
        rules.append(
            {"id": "fixed", "type": "fixed", "quantities": {shops[0]: draw(st.integers(0, 12))}}
        )
    if draw(st.booleans()):
        rules.append({"id": "zero", "type": "zero_below", "threshold": draw(st.integers(0, 10))})
    if draw(st.booleans()):
        rules.append(
            {
                "id": "capacity",
                "type": "shop_capacity",
                "quantities": {shops[0]: draw(st.integers(0, 80))},
            }
        )
    if draw(st.booleans()):
        # Pack sizes and delisting make a second pass (only touched parts re-solved).
        rules.append({"id": "pack", "type": "pack_size", "quantity": draw(st.integers(2, 6))})
    if draw(st.booleans()):
        rules.append(
            {"id": "delist", "type": "min_or_delist", "threshold": draw(st.integers(1, 5))}
        )
    mode = draw(st.sampled_from(["normal", "peak"]))
    data: dict[str, Any] = {
        "pools": pools,
        "shops": tuple((s, i + 1) for i, s in enumerate(shops)),
        "velocity": velocity,
    }
    if draw(st.booleans()):
        # Two warehouses; the last shop may draw only from W2 (a supply group).
        data["warehouses"] = (("W1", "sellable"), ("W2", "sellable"))
        data["stock"] = [
            {
                "sku": sku,
                "warehouse": w,
                "on_hand": draw(st.integers(0, 30)),
                "locked": draw(st.integers(0, 2)),
            }
            for sku in pools
            for w in ("W1", "W2")
        ]
        data["restricted"] = {shops[-1]: ["W2"]}
    return data, rules, mode


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_every_plan_keeps_the_invariants(
    case: tuple[dict[str, Any], list[dict[str, Any]], str],
) -> None:
    data, rules, mode = case
    snap = snapshot(**data)
    try:
        first = plan(snap, rules, mode=mode)
    except ConflictError as error:
        # Only the fixed quantity or the shop capacity can make hard rules clash; the
        # error must name the rules and SKUs.
        named = {r for c in error.conflicts for r in c.rules}
        assert named & {"fixed", "capacity", "cap", "zero"}, error
        assert all(c.skus for c in error.conflicts), error
        return
    assert_plan_invariants(snap, rules, first, peak=mode == "peak")
    again = plan(snap, rules, mode=mode)
    assert plan_bytes(first) == plan_bytes(again)
