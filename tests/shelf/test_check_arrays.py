"""The two-way check over arrays (engine/checks/two_way.py) says exactly what the
row-by-row reference (tests/shelf/reference_check.py) says - the same warnings, words
and order - on random snapshots: several brands, restricted shops, warehouses of every
kind, bundles, every stock bucket, listings and velocities, with and without a
plan whose quantities, shared units and virtual units are drawn at random."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from engine.checks.findings import CheckThresholds
from engine.checks.two_way import check_plan, check_stock
from engine.core.io import parse_snapshot
from engine.core.plan import Plan
from engine.core.snapshot import Snapshot
from engine.planning.planner import make_plan
from rules.load import parse_ruleset
from tests.shelf import reference_check as reference

KINDS = ("sellable", "defect", "returns", "qc", "virtual")
BUCKETS = (
    "locked",
    "reserved",
    "defective",
    "in_transit",
    "pending_review",
    "unpaid",
    "purchase_in_transit",
    "transfer_in_transit",
)


@st.composite
def snapshots(draw: st.DrawFn) -> dict[str, Any]:
    brands = ["b1", "b2"][: draw(st.integers(1, 2))]
    warehouses = [f"W{i}" for i in range(draw(st.integers(1, 3)))]
    kinds = {w: draw(st.sampled_from(KINDS)) for w in warehouses}
    kinds[warehouses[0]] = draw(st.sampled_from(("sellable", "sellable", "defect")))
    shops = []
    for b in brands:
        for k in range(draw(st.integers(1, 3))):
            shop: dict[str, Any] = {"id": f"{b}-s{k}", "brand": b, "platform": "tmall"}
            shop["priority"] = draw(st.integers(0, 3))
            if draw(st.booleans()):
                shop["warehouses"] = draw(st.lists(st.sampled_from(warehouses), unique=True))
            shops.append(shop)
    skus: list[dict[str, Any]] = []
    for b in brands:
        for k in range(draw(st.integers(1, 4))):
            sku: dict[str, Any] = {"id": f"{b}-{k}", "brand": b, "components": []}
            sku["price"] = draw(st.sampled_from(("10.00", "9.9", "129", "0.5")))
            sku["category"] = draw(st.sampled_from(("shoes", "bags")))
            sku["tags"] = draw(st.lists(st.sampled_from(("new", "clearance", "gift")), unique=True))
            plain = [s["id"] for s in skus if s["brand"] == b and not s["components"]]
            if plain and draw(st.integers(0, 3)) == 0:  # a bundle of earlier plain SKUs
                parts = draw(st.lists(st.sampled_from(plain), min_size=1, max_size=2, unique=True))
                sku["components"] = [{"sku": p, "qty": draw(st.integers(1, 3))} for p in parts]
            skus.append(sku)
    stock = []
    for sku in skus:
        for w in warehouses:
            if draw(st.integers(0, 2)):
                row = {"sku": sku["id"], "warehouse": w, "on_hand": draw(st.integers(0, 40))}
                for bucket in draw(st.lists(st.sampled_from(BUCKETS), unique=True, max_size=3)):
                    row[bucket] = draw(st.integers(0, 15))
                stock.append(row)
    pairs = [(s["id"], h["id"]) for s in skus for h in shops if h["brand"] == s["brand"]]
    velocity = [
        {"sku": s, "shop": h, "units_per_day": draw(st.sampled_from((0.0, 0.4, 1.0, 2.5, 7.0)))}
        for s, h in pairs
        if draw(st.booleans())
    ]
    listed = [
        {"sku": s, "shop": h, "quantity": draw(st.integers(0, 30))}
        for s, h in pairs
        if draw(st.integers(0, 2))
    ]
    return {
        "tenant": "t",
        "as_of": "2026-11-11T00:00:00+08:00",
        "brands": [{"id": b, "name": b} for b in brands],
        "warehouses": [{"id": w, "kind": kinds[w]} for w in warehouses],
        "shops": shops,
        "skus": skus,
        "stock": stock,
        "velocity": velocity,
        "listed": listed,
    }


def drawn_plan(draw: Callable[[st.SearchStrategy[Any]], Any], snapshot: Snapshot) -> Plan:
    """A real plan of the snapshot, its numbers then redrawn (a plan published on other
    stock, with shared and virtual units)."""
    made = make_plan(snapshot, parse_ruleset({"rules": []}))
    allocations = [
        a.model_copy(
            update={
                "quantity": draw(st.integers(0, 30)),
                "shared": draw(st.sampled_from((0, 0, 3))),
            }
        )
        for a in made.allocations
    ]
    skus = [p.model_copy(update={"virtual": draw(st.sampled_from((0, 0, 5)))}) for p in made.skus]
    return made.model_copy(update={"allocations": allocations, "skus": skus})


@given(data=st.data(), document=snapshots())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_array_check_says_what_the_reference_says(
    data: st.DataObject, document: dict[str, Any]
) -> None:
    note(repr(document))
    snapshot = parse_snapshot(document)
    plan = drawn_plan(data.draw, snapshot) if data.draw(st.booleans()) else None
    limits = CheckThresholds(
        drift_units=data.draw(st.integers(0, 6)),
        runout_days=data.draw(st.sampled_from((0.0, 3.0, 10.0))),
    )
    assert check_stock(snapshot, plan, limits) == reference.check_stock(snapshot, plan, limits)
    if plan is not None:
        assert check_plan(plan, snapshot) == reference.check_plan(plan, snapshot)
