"""What a stock push sends: the sync_threshold rule as the planner scopes it, and every
plan cell either sent (grouped per shop and product) or held with its reason."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.core.errors import InputError
from engine.core.index import SnapshotIndex
from engine.core.io import parse_snapshot
from engine.core.plan import Allocation, Kpis, Plan
from engine.demo import build_demo
from engine.listing.stockpush import (
    Held,
    PushPlan,
    StockUpdate,
    SyncRule,
    sku_products,
    stock_updates,
    sync_thresholds,
)
from engine.planning.planner import make_plan
from rules.compile import compile_problem
from rules.load import parse_ruleset
from tests.helpers import snapshot
from tests.listing.conftest import running_shoe

# shop -> (brand, platform); SKU -> (brand, SPU code)
SHOPS = {"tm-b1": ("b1", "tmall"), "jd-b1": ("b1", "jd"), "tm-b2": ("b2", "tmall")}
CATALOG = {
    "P1-40": ("b1", "P1"),
    "P1-41": ("b1", "P1"),
    "P2-40": ("b1", "P2"),
    "Q1-40": ("b2", "Q1"),
}
SYNC = SyncRule(threshold=5, bands=(10,), rule="r-sync")


def plan_of(*cells: tuple[str, str, int], shared: int = 0, lb: int = 0) -> Plan:
    """A plan of (shop, SKU, quantity) cells, each with the same shared part and floor."""
    return plan_from([(shop, sku, q, shared, lb) for shop, sku, q in cells])


def plan_from(cells: list[tuple[str, str, int, int, int]]) -> Plan:
    allocations = [
        Allocation(
            sku=sku,
            shop=shop,
            quantity=q,
            shared=shared,
            binding=[],
            listed=q + shared > 0,
            target=q,
            lb=lb,
            ub=q + shared,
        )
        for shop, sku, q, shared, lb in cells
    ]
    kpis = Kpis(
        units_allocated=0,
        units_pool=0,
        utilisation=0.0,
        units_shared=0,
        units_unallocated=0,
        skus=0,
        shops=0,
        cells=len(cells),
    )
    return Plan(
        plan_id="plan-test",
        input_hash="0" * 64,
        mode="normal",
        solver="none",
        timing={},
        allocations=allocations,
        unallocated=[],
        warnings=[],
        kpis=kpis,
    )


def push(plan: Plan, last: dict[tuple[str, str], int], sync: SyncRule | None = SYNC) -> PushPlan:
    cells = {(a.shop, a.sku) for a in plan.allocations}
    thresholds = {cell: sync for cell in cells} if sync is not None else {}
    return stock_updates(plan, CATALOG, SHOPS, last, thresholds)


def reasons(p: PushPlan) -> dict[tuple[str, str], str]:
    return {(h.shop, h.sku): h.reason for h in p.held}


# --- what is sent, grouped -------------------------------------------------------------


def test_updates_are_grouped_per_shop_and_product_in_a_stable_order() -> None:
    plan = plan_of(
        ("tm-b1", "P2-40", 4),
        ("tm-b1", "P1-41", 7),
        ("jd-b1", "P1-40", 2),
        ("tm-b1", "P1-40", 3),
    )
    result = push(plan, {})
    assert result.updates == [
        StockUpdate("jd-b1", "jd", "P1", {"P1-40": 2}),
        StockUpdate("tm-b1", "tmall", "P1", {"P1-40": 3, "P1-41": 7}),
        StockUpdate("tm-b1", "tmall", "P2", {"P2-40": 4}),
    ]
    assert list(result.updates[1].stock) == ["P1-40", "P1-41"]
    assert result.held == []
    assert result.sent() == {
        ("jd-b1", "P1-40"): 2,
        ("tm-b1", "P1-40"): 3,
        ("tm-b1", "P1-41"): 7,
        ("tm-b1", "P2-40"): 4,
    }


def test_a_shop_shows_the_exclusive_quantity_plus_the_shared_part() -> None:
    result = push(plan_of(("tm-b1", "P1-40", 3), shared=4), {})
    assert result.updates == [StockUpdate("tm-b1", "tmall", "P1", {"P1-40": 7})]


def test_cells_without_an_item_to_send_to_are_held_with_the_reason() -> None:
    plan = plan_of(
        ("tm-b1", "X-1", 3),  # no such SKU in the catalog
        ("tb-b9", "P1-40", 3),  # no such shop
        ("tm-b1", "Q1-40", 3),  # a brand-2 product on a brand-1 shop
        ("tm-b2", "Q1-40", 3),
    )
    result = push(plan, {})
    assert reasons(result) == {
        ("tm-b1", "X-1"): "SKU not in the catalog",
        ("tb-b9", "P1-40"): "shop not in the catalog",
        ("tm-b1", "Q1-40"): "product of another brand than the shop (product b2, shop b1)",
    }
    assert result.updates == [StockUpdate("tm-b2", "tmall", "Q1", {"Q1-40": 3})]
    held = {(h.shop, h.sku): h for h in result.held}
    assert held[("tm-b1", "X-1")] == Held("tm-b1", "X-1", 3, None, "SKU not in the catalog")


@pytest.mark.parametrize(
    ("last", "new", "sent"),
    [
        (None, 1, True),  # never sent: always sent
        (7, 7, False),  # unchanged
        (7, 9, False),  # +2, below 5, no band crossed
        (7, 10, True),  # +3 reaches the band at 10
        (10, 14, False),  # +4 from the band level up: nothing crossed
        (3, 8, True),  # +5: the threshold itself is enough
        (0, 2, True),  # from 0: crosses the zero band
        (9, 8, True),  # a fall is always sent
        (4, 0, True),  # ... down to 0 as well
    ],
)
def test_sync_threshold_decides_per_cell(last: int | None, new: int, sent: bool) -> None:
    cell = ("tm-b1", "P1-40")
    result = push(plan_of((*cell, new)), {cell: last} if last is not None else {})
    assert bool(result.updates) is sent
    if not sent:
        assert len(result.held) == 1
        assert result.held[0].last == last and result.held[0].units == new


def test_the_held_reason_names_the_threshold_the_rule_and_the_rise() -> None:
    cell = ("tm-b1", "P1-40")
    result = push(plan_of((*cell, 10)), {cell: 13}, SyncRule(5, (), "r-sync"))
    assert result.updates  # a fall
    result = push(plan_of((*cell, 16)), {cell: 13}, SyncRule(5, (), "r-sync"))
    assert reasons(result) == {cell: "below sync threshold 5 (rule r-sync): +3"}
    result = push(plan_of((*cell, 16)), {cell: 16}, SyncRule(5, (), "r-sync"))
    assert reasons(result) == {cell: "unchanged"}


def test_without_a_rule_every_change_is_sent() -> None:
    cell = ("tm-b1", "P1-40")
    assert push(plan_of((*cell, 8)), {cell: 7}, sync=None).updates


def test_shared_parts_and_numbers_below_a_hard_floor_are_never_held() -> None:
    """As the planner (docs/rules.md, sync_threshold): a shared part moves between
    shops, and a number below the cell's lower bound breaks a hard rule."""
    cell = ("tm-b1", "P1-40")
    assert push(plan_of((*cell, 6), shared=2), {cell: 7}).updates
    assert push(plan_of((*cell, 8), lb=8), {cell: 7}).updates
    assert not push(plan_of((*cell, 8), lb=7), {cell: 7}).updates


def test_a_cell_twice_in_a_plan_is_an_input_error() -> None:
    plan = plan_of(("tm-b1", "P1-40", 1), ("tm-b1", "P1-40", 2))
    with pytest.raises(InputError) as caught:
        push(plan, {})
    assert caught.value.issues[0].path == "allocations[1]"
    assert "first at allocations[0]" in caught.value.issues[0].message


def test_catalog_skus_name_their_product_and_a_sku_in_two_products_is_refused() -> None:
    shoe, other = running_shoe("P7"), running_shoe("P8")
    assert sku_products([shoe, other]) == {
        "P7-40": ("b1", "P7"),
        "P7-41": ("b1", "P7"),
        "P8-40": ("b1", "P8"),
        "P8-41": ("b1", "P8"),
    }
    renamed = other.skus[0].model_copy(update={"sku_code": "P7-40"})
    clash = other.model_copy(update={"skus": [renamed]})
    with pytest.raises(InputError) as caught:
        sku_products([shoe, clash])
    assert "also in product b1/P7" in str(caught.value)


# --- the partition, on random plans -----------------------------------------------------

SHOP_IDS = [*SHOPS, "tb-b9"]
SKU_IDS = [*CATALOG, "X-1"]


@st.composite
def pushes(draw: st.DrawFn) -> tuple[Plan, dict[Any, int], dict[Any, SyncRule]]:
    cells = draw(
        st.lists(st.tuples(st.sampled_from(SHOP_IDS), st.sampled_from(SKU_IDS)), unique=True)
    )
    units = st.integers(0, 40)
    rows = [
        (shop, sku, draw(units), draw(st.sampled_from([0, 0, 3])), draw(units))
        for shop, sku in cells
    ]
    last = {cell: draw(units) for cell in cells if draw(st.booleans())}
    rule = st.builds(
        SyncRule,
        st.integers(1, 15),
        st.lists(st.integers(1, 40), max_size=3).map(lambda b: tuple(sorted(set(b)))),
        st.sampled_from(["r-a", "r-b"]),
    )
    thresholds = {cell: draw(rule) for cell in cells if draw(st.booleans())}
    return plan_from(rows), last, thresholds


@settings(max_examples=300, deadline=None)
@given(pushes())
def test_every_plan_cell_is_sent_or_held_and_the_rule_holds(
    case: tuple[Plan, dict[Any, int], dict[Any, SyncRule]],
) -> None:
    plan, last, thresholds = case
    result = stock_updates(plan, CATALOG, SHOPS, last, thresholds)
    sent = result.sent()
    held = {(h.shop, h.sku): h for h in result.held}
    sent_count = sum(len(u.stock) for u in result.updates)
    assert sent_count == len(sent)  # no cell in two updates
    assert len(held) == len(result.held)
    assert sent.keys().isdisjoint(held.keys())
    assert sent.keys() | held.keys() == {(a.shop, a.sku) for a in plan.allocations}
    groups = Counter((u.shop, u.outer_id) for u in result.updates)
    assert all(n == 1 for n in groups.values())
    for u in result.updates:
        assert SHOPS[u.shop][1] == u.platform
        assert all(CATALOG[sku] == (SHOPS[u.shop][0], u.outer_id) for sku in u.stock)
    for a in plan.allocations:
        cell, units = (a.shop, a.sku), a.quantity + a.shared
        known = a.shop in SHOPS and CATALOG.get(a.sku, ("",))[0] == SHOPS[a.shop][0]
        if not known:
            assert cell in held
            assert "catalog" in held[cell].reason or "brand" in held[cell].reason
            continue
        if cell in sent:
            assert sent[cell] == units
        before = last.get(cell)
        if before is None or units < before:
            assert cell in sent  # never sent, or a fall: always sent
            continue
        rule = thresholds.get(cell)
        small = (
            rule is not None
            and 0 < units - before < rule.threshold
            and before > 0
            and a.shared == 0
            and before >= a.lb
            and not any(before < level <= units for level in rule.bands)
        )
        if units == before:
            assert held[cell].reason == "unchanged"
        elif small:
            assert rule is not None
            assert held[cell].reason == (
                f"below sync threshold {rule.threshold} (rule {rule.rule}): +{units - before}"
            )
        else:
            assert cell in sent


# --- thresholds as the planner scopes them ----------------------------------------------


def test_demo_thresholds_come_from_r_sync() -> None:
    snap_doc, rules_doc = build_demo(skus=300)
    snap, ruleset = parse_snapshot(snap_doc), parse_ruleset(rules_doc)
    found = sync_thresholds(snap, ruleset)
    index = SnapshotIndex.build(snap)
    assert len(found) == index.n_cells  # r-sync has no scope: every cell
    cell = (snap.shops[0].id, next(s.id for s in snap.skus if s.brand == snap.shops[0].brand))
    assert found[cell] == SyncRule(threshold=5, bands=(10,), rule="r-sync")
    assert list(found[cell].bands) == [10]


def test_a_demo_plan_pushed_over_its_own_listings_holds_nothing_more() -> None:
    """The planner already kept small rises at the listed number: pushed against those
    listings, they are unchanged, and no further cell is held by the threshold."""
    snap_doc, rules_doc = build_demo(skus=300)
    snap, ruleset = parse_snapshot(snap_doc), parse_ruleset(rules_doc)
    plan = make_plan(snap, ruleset)
    catalog = {s.id: (s.brand, f"SPU-{s.id}") for s in snap.skus}
    shops = {s.id: (s.brand, s.platform) for s in snap.shops}
    listed = {(r.shop, r.sku): r.quantity for r in snap.listed}
    result = stock_updates(plan, catalog, shops, listed, sync_thresholds(snap, ruleset))
    assert {h.reason for h in result.held} == {"unchanged"}
    assert len(result.sent()) + len(result.held) == len(plan.allocations)


def test_scopes_precedence_and_windows_decide_as_in_the_planner() -> None:
    snap = snapshot(pools={"S": 10, "T": 10})
    rules = [
        {"id": "r-all", "type": "sync_threshold", "threshold": 5, "bands": [10]},
        {
            "id": "r-b",
            "type": "sync_threshold",
            "threshold": 2,
            "bands": [8, 3],
            "scope": {"shop": "B"},
        },
        {"id": "r-t", "type": "sync_threshold", "threshold": 9, "scope": {"skus": ["T"]}},
        {
            "id": "r-over",
            "type": "sync_threshold",
            "threshold": 1,
            "active_to": "2026-11-01T00:00:00+08:00",  # over before the snapshot's as_of
        },
    ]
    ruleset = parse_ruleset({"rules": rules})
    found = sync_thresholds(snap, ruleset)
    assert found[("A", "S")] == SyncRule(5, (10,), "r-all")
    assert found[("B", "S")] == SyncRule(2, (3, 8), "r-b")
    assert found[("A", "T")] == SyncRule(9, (), "r-t")  # SKUs are more specific than shops
    assert found[("B", "T")] == SyncRule(9, (), "r-t")
    # The same numbers as the post step the planner compiles.
    index = SnapshotIndex.build(snap)
    post = compile_problem(index, ruleset, snap.mode).post
    for cell in range(index.n_cells):
        key = (index.shop_ids[index.cell_shop[cell]], index.sku_ids[index.cell_sku[cell]])
        assert found[key].threshold == post.sync[cell]
        assert found[key].rule == ruleset.label(int(post.sync_rule[cell]))


def test_cells_without_a_rule_are_absent_and_bad_references_are_input_errors() -> None:
    snap = snapshot(pools={"S": 10})
    only_b = [{"id": "r-b", "type": "sync_threshold", "threshold": 2, "scope": {"shop": "B"}}]
    assert sync_thresholds(snap, parse_ruleset({"rules": only_b})) == {
        ("B", "S"): SyncRule(2, (), "r-b")
    }
    assert sync_thresholds(snap, parse_ruleset({"rules": []})) == {}
    typo = [{"id": "r-z", "type": "sync_threshold", "threshold": 2, "scope": {"shop": "Z"}}]
    with pytest.raises(InputError) as caught:
        sync_thresholds(snap, parse_ruleset({"rules": typo}))
    assert "Z" in str(caught.value)
