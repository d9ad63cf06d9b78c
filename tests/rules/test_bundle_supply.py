"""A shop never lists more of a bundle than it can supply, whatever the share rule -
shared parts included: at most the bundle's own stock in the warehouses the shop reaches
plus the sets its components' stock in those warehouses makes (a set is put together
from one warehouse's reach: a shop served by W2 alone may list a bundle made of
components in W2, never one whose components lie in W1 only).
tests/invariants.py checks supply for plain SKUs; this is its bundle side, on random
stock, warehouse scopes and share rules (the simulator once found bundles oversold
through a shared part on a shop served by one warehouse).

Known gap, not asserted here: the planner makes bundles from the components' stock
summed over warehouses (S in W2 and T in W1 make one bundle), where the rule catalog
counts a bundle's pool warehouse by warehouse."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import plan, snapshot

WAREHOUSES = ("W1", "W2")
SHOPS = ("A", "B", "C")
RULES: list[list[dict[str, Any]]] = [
    [{"type": "shared_pool"}],
    [{"type": "shared_pool", "scope": {"skus": ["K"]}}],
    [{"type": "equal_split"}],
    [{"type": "velocity_proportional"}],
    [{"type": "velocity_class", "policies": {"A": "shared", "B": "shared", "C": "shared"}}],
]


@st.composite
def cases(draw: st.DrawFn) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    units = st.integers(0, 12)
    stock = [
        {"sku": sku, "warehouse": w, "on_hand": draw(units)}
        for sku in ("S", "T", "K")
        for w in WAREHOUSES
    ]
    restricted = {
        shop: [draw(st.sampled_from(WAREHOUSES))] for shop in SHOPS if draw(st.booleans())
    }
    velocity = {
        (sku, shop): draw(st.sampled_from([0.0, 0.5, 2.0]))
        for sku in ("S", "T", "K")
        for shop in SHOPS
    }
    components = {"K": [{"sku": "S", "qty": draw(st.integers(1, 3))}, {"sku": "T", "qty": 1}]}
    data = {
        "pools": {"S": 0, "T": 0, "K": 0},
        "stock": stock,
        "warehouses": tuple((w, "sellable") for w in WAREHOUSES),
        "restricted": restricted,
        "velocity": velocity,
        "components": components,
    }
    return data, draw(st.sampled_from(RULES))


@settings(max_examples=400, deadline=None)
@given(cases())
def test_a_shop_lists_no_more_of_a_bundle_than_its_warehouses_supply(
    case: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    data, rules = case
    snap = snapshot(**data)
    made = plan(snap, rules)
    on_hand = {(r.sku, r.warehouse): r.on_hand for r in snap.stock}
    qty = {c.sku: c.qty for c in snap.skus[2].components}
    for a in made.allocations:
        if a.sku != "K":
            continue
        reach = data["restricted"].get(a.shop, WAREHOUSES)
        own = sum(on_hand[("K", w)] for w in reach)
        near = {c: sum(on_hand[(c, w)] for w in reach) for c in qty}
        supply = own + min(near[c] // q for c, q in qty.items())
        assert a.quantity + a.shared <= supply, (a, data["restricted"], on_hand)
