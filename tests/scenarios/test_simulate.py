"""The simulator and its KPIs: exact hand-made cases, demo data, and Hypothesis."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.core.errors import ConflictError
from engine.core.index import SnapshotIndex
from engine.core.io import parse_snapshot
from engine.core.snapshot import Snapshot
from engine.demo import build_demo
from engine.planning.planner import make_plan
from engine.scenarios.demand import cell_keys
from engine.scenarios.kpis import KPI_NAMES
from engine.scenarios.simulate import Trace, omnistock_listing, simulate, simulate_traced
from engine.scenarios.spec import (
    Arrival,
    IncumbentPolicy,
    SimulationSettings,
    Uplift,
    VariantInputs,
    VariantResult,
)
from rules.catalog import Ruleset
from rules.load import parse_ruleset
from tests.helpers import snapshot, snapshot_data

# Shares adding up to 100% per brand, as an operator sets them in an incumbent OMS.
SHARES: dict[str, float] = {
    "tm-b1": 40,
    "jd-b1": 25,
    "dy-b1": 20,
    "pdd-b1": 15,
    "tm-b2": 50,
    "jd-b2": 30,
    "dy-b2": 20,
    "tm-b3": 50,
    "jd-b3": 30,
    "pdd-b3": 20,
}
INCUMBENT = IncumbentPolicy(shares=SHARES, safety_stock=2)
POOL_RULES = {"stock_composition", "exclude_warehouse", "bundle", "safety_stock"}


def rules(*items: dict[str, Any]) -> Ruleset:
    return parse_ruleset({"rules": list(items)})


def variant(snap: Snapshot, ruleset: Ruleset | None = None, **kwargs: Any) -> VariantInputs:
    fields: dict[str, Any] = {"name": "v", "mode": "normal"} | kwargs
    return VariantInputs(snapshot=snap, ruleset=ruleset or rules(), **fields)


def run(inputs: VariantInputs, **kwargs: Any) -> tuple[VariantResult, Trace]:
    result, traces = simulate_traced(inputs, SimulationSettings(**kwargs))
    assert len(traces) == 1
    check_ledger(traces[0])
    return result, traces[0]


def check_ledger(tr: Trace) -> None:
    """Conservation per physical SKU and day, and the books of every cell."""
    assert np.array_equal(tr.start + tr.arrived, tr.sold + tr.left)
    assert np.array_equal(tr.start[1:], tr.left[:-1])
    assert (tr.left >= 0).all() and (tr.sold >= 0).all() and (tr.arrived >= 0).all()
    # the tracked stock is what the pool derivation finds in the stock buckets
    assert not tr.derived_gap.any()
    assert np.array_equal(tr.accepted, tr.shipped + tr.oversold)
    assert (tr.oversold >= 0).all() and (tr.accepted <= tr.listing).all()
    assert np.array_equal(tr.demand, tr.accepted + tr.refused)
    assert (tr.prevented >= 0).all() and (tr.avoidable >= 0).all()
    assert (tr.prevented + tr.avoidable <= tr.refused).all()


def shop_cells(tr: Trace, shop: str) -> np.ndarray:
    return np.flatnonzero(tr.cell_shop == tr.shop_ids.index(shop))


# --- demo data ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo() -> tuple[Snapshot, Ruleset, Ruleset]:
    """250 demo SKUs; the demo ruleset, and its pool and safety rules with a velocity-
    proportional split instead of the demo's deliberately binding share rules."""
    data, rules_data = build_demo(11, skus=250)
    kept = [r for r in rules_data["rules"] if r["type"] in POOL_RULES and "shop" not in r]
    split = parse_ruleset({"rules": kept + [{"id": "vp", "type": "velocity_proportional"}]})
    return parse_snapshot(data), parse_ruleset(rules_data), split


@pytest.mark.parametrize("mode", ["normal", "peak"])
@pytest.mark.parametrize("every", [None, 5])
def test_omnistock_never_oversells_on_demo_data(
    demo: tuple[Snapshot, Ruleset, Ruleset], mode: str, every: int | None
) -> None:
    snap, ruleset, _ = demo
    # A surprise surge: demand far above what the plans expect, so stock runs out.
    surge = Uplift(factor=4.0, first_day=3, last_day=12, planned=False)
    arrival = Arrival(snap.stock[0].sku, snap.stock[0].warehouse, 40, 6)
    inputs = variant(snap, ruleset, mode=mode, uplifts=(surge,), arrivals=(arrival,))
    result, tr = run(inputs, horizon_days=15, replan_every_days=every, seed=7)
    assert result.kpis["units_oversold"] == 0
    assert result.kpis["oversell_attempts_prevented"] > 0  # the stock did run out
    assert result.plans_made == (1 if every is None else 3)
    assert tr.plan_days == ([0] if every is None else [0, 5, 10])
    assert tr.arrived[6].sum() == 40
    assert result.kpis["units_sold"] == tr.shipped.sum() > 0


def test_the_same_seed_gives_the_same_numbers_and_another_seed_other_demand(
    demo: tuple[Snapshot, Ruleset, Ruleset],
) -> None:
    snap, ruleset, _ = demo
    inputs = variant(snap, ruleset)
    first, a = run(inputs, horizon_days=8, seed=5)
    again, b = run(inputs, horizon_days=8, seed=5)
    other, c = run(inputs, horizon_days=8, seed=6)
    assert np.array_equal(a.demand, b.demand) and first.kpis == again.kpis
    assert first.lost_by_shop_day == again.lost_by_shop_day
    assert not np.array_equal(a.demand, c.demand)
    assert first.kpis != other.kpis
    # the demand is Poisson around the velocity: means match over cells and days
    index = SnapshotIndex.build(snap)
    assert abs(a.demand.sum() / (8 * index.velocity.sum()) - 1) < 0.05


def test_a_cells_demand_does_not_depend_on_the_other_cells_or_the_rules() -> None:
    velocity = {("S", "A"): 2.0, ("S", "B"): 3.0, ("T", "A"): 1.0}
    base = snapshot(pools={"S": 5, "T": 5}, shops=TWO, velocity=velocity)
    wider = snapshot(
        pools={"R": 9, "S": 0, "T": 5},  # a SKU before the others, one more shop between
        shops=(("A", 1), ("AB", 2), ("B", 3)),
        velocity=velocity | {("R", "A"): 4.0, ("S", "AB"): 2.0},
    )
    capped = rules({"type": "max_cap", "quantity": 1})
    _, a = run(variant(base), horizon_days=6, seed=9)
    _, b = run(variant(wider, capped), horizon_days=6, seed=9)

    def by_cell(tr: Trace) -> dict[tuple[str, str], list[int]]:
        return {
            (tr.sku_ids[tr.cell_sku[c]], tr.shop_ids[tr.cell_shop[c]]): list(tr.demand[:, c])
            for c in range(tr.cell_sku.size)
        }

    mine, theirs = by_cell(a), by_cell(b)
    assert all(mine[key] == theirs[key] for key in mine)
    assert sum(sum(days) for days in mine.values()) > 0


def test_a_cells_key_is_the_8_byte_blake2b_of_its_sku_and_shop_ids() -> None:
    """The keys every seed's demand draws hang on: a change of their definition would
    change every scenario's numbers."""
    index = SnapshotIndex.build(snapshot(pools={"S": 1, "T-é": 1}, shops=TWO))

    def key(sku: str, shop: str) -> int:
        digest = hashlib.blake2b(f"{sku}\x1f{shop}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "little")

    expected = [key(k, h) for k, h in (("S", "A"), ("S", "B"), ("T-é", "A"), ("T-é", "B"))]
    assert cell_keys(index).tolist() == expected
    assert cell_keys(index).tolist()[0] == 0x880FDB7578796CDC


def test_two_equal_inputs_give_exactly_equal_kpis() -> None:
    data, rules_data = build_demo(5, skus=150)
    one = variant(parse_snapshot(data), parse_ruleset(rules_data), name="x")
    two = variant(parse_snapshot(build_demo(5, skus=150)[0]), parse_ruleset(rules_data), name="x")
    assert one.snapshot is not two.snapshot
    settings_ = SimulationSettings(horizon_days=10, replan_every_days=4, seed=3, replications=2)
    a, b = simulate(one, settings_), simulate(two, settings_)
    assert replace(a, seconds=0.0) == replace(b, seconds=0.0)
    assert a.spread["units_sold"] > 0  # two replications differ
    assert set(a.kpis) == set(KPI_NAMES) == set(a.spread)


def test_peak_mode_lists_more_than_normal(demo: tuple[Snapshot, Ruleset, Ruleset]) -> None:
    snap, ruleset, _ = demo
    days = SimulationSettings(horizon_days=1)
    normal = simulate(variant(snap, ruleset, mode="normal"), days)
    peak = simulate(variant(snap, ruleset, mode="peak"), days)
    assert peak.kpis["units_listed_day0"] > normal.kpis["units_listed_day0"]
    assert peak.kpis["pool_utilisation"] > normal.kpis["pool_utilisation"]
    assert peak.kpis["cover_days_start"] == normal.kpis["cover_days_start"]


def test_the_day0_listing_is_the_plan(demo: tuple[Snapshot, Ruleset, Ruleset]) -> None:
    snap, ruleset, _ = demo
    plan = make_plan(snap, ruleset)
    index = SnapshotIndex.build(snap)
    listing = omnistock_listing(index, ruleset, "normal")
    by_cell = {(a.sku, a.shop): (a.quantity, a.shared) for a in plan.allocations}
    shared_on_cell = np.where(listing.access, listing.shared[index.cell_sku], 0)
    for c in range(index.n_cells):
        key = (index.sku_ids[index.cell_sku[c]], index.shop_ids[index.cell_shop[c]])
        assert by_cell[key] == (listing.exclusive[c], shared_on_cell[c])
    result = simulate(variant(snap, ruleset), SimulationSettings(horizon_days=1))
    assert result.kpis["units_listed_day0"] == plan.kpis.units_allocated
    assert result.kpis["pool_utilisation"] == pytest.approx(plan.kpis.utilisation, abs=1e-6)


def test_omnistock_loses_fewer_avoidable_sales_than_the_incumbents_shares(
    demo: tuple[Snapshot, Ruleset, Ruleset],
) -> None:
    snap, _, split = demo
    for every in (7, None):
        days = SimulationSettings(horizon_days=30, replan_every_days=every, seed=2)
        ours, a = simulate_traced(variant(snap, split), days)
        theirs, b = simulate_traced(
            variant(snap, split, planner="incumbent", incumbent=INCUMBENT), days
        )
        assert np.array_equal(a[0].demand, b[0].demand)  # the same demand
        assert ours.plans_made == theirs.plans_made
        assert ours.kpis["units_oversold"] == theirs.kpis["units_oversold"] == 0
        assert ours.kpis["avoidable_lost_sales"] < 0.8 * theirs.kpis["avoidable_lost_sales"]
        assert ours.kpis["units_sold"] > theirs.kpis["units_sold"]


def test_shares_over_100_percent_oversell_under_the_incumbents_only(
    demo: tuple[Snapshot, Ruleset, Ruleset],
) -> None:
    snap, ruleset, _ = demo
    greedy = IncumbentPolicy(default_share_pct=100.0)  # every shop lists the whole pool
    days = SimulationSettings(horizon_days=20, replan_every_days=7)
    theirs = simulate(variant(snap, ruleset, planner="incumbent", incumbent=greedy), days)
    ours = simulate(variant(snap, ruleset), days)
    assert theirs.kpis["units_oversold"] > 0
    assert theirs.kpis["pool_utilisation"] > 2
    assert ours.kpis["units_oversold"] == 0


def test_uplift_raises_demand_only_in_its_window(demo: tuple[Snapshot, Ruleset, Ruleset]) -> None:
    snap, ruleset, _ = demo
    surge = Uplift(factor=3.0, first_day=2, last_day=4, shops=("tm-b1",), categories=("running",))
    _, base = run(variant(snap, ruleset), horizon_days=7, seed=4)
    _, up = run(variant(snap, ruleset, uplifts=(surge,)), horizon_days=7, seed=4)
    index = SnapshotIndex.build(snap)
    running = np.array([index.categories[k] == "running" for k in index.sku_category])
    hit = (index.cell_shop == index.shop_pos["tm-b1"]) & running[index.cell_sku]
    window = np.zeros(7, dtype=bool)
    window[2:5] = True
    assert np.array_equal(base.demand[~window], up.demand[~window])
    assert np.array_equal(base.demand[:, ~hit], up.demand[:, ~hit])
    assert (up.demand[window][:, hit] >= base.demand[window][:, hit]).all()
    assert up.demand[window][:, hit].sum() > 2.5 * base.demand[window][:, hit].sum()


def test_a_closed_shop_sells_nothing_and_its_demand_is_lost(
    demo: tuple[Snapshot, Ruleset, Ruleset],
) -> None:
    snap, ruleset, _ = demo
    inputs = variant(snap, ruleset, closed_shops=frozenset({"jd-b1"}))
    result, tr = run(inputs, horizon_days=10, replan_every_days=4)
    cells = shop_cells(tr, "jd-b1")
    assert not tr.listing[:, cells].any() and not tr.shipped[:, cells].any()
    assert result.sold_by_shop_day["jd-b1"] == [0.0] * 10
    assert result.lost_by_shop_day["jd-b1"] == [float(x) for x in tr.demand[:, cells].sum(1)]
    assert tr.demand[:, cells].sum() > 0
    assert not tr.avoidable[:, cells].any() and not tr.prevented[:, cells].any()
    assert result.sell_through_by_shop["jd-b1"] == 0.0
    # the demand of the open shops is the same as with the shop open
    _, open_tr = run(variant(snap, ruleset), horizon_days=10, replan_every_days=4)
    assert np.array_equal(open_tr.demand, tr.demand)


def test_progress_counts_days_of_every_replication() -> None:
    snap = snapshot(pools={"S": 20}, velocity={("S", "A"): 1.0})
    seen: list[tuple[int, int]] = []
    settings_ = SimulationSettings(horizon_days=4, replications=3)
    simulate(variant(snap), settings_, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(k, 12) for k in range(1, 13)]


# --- exact hand-made cases -------------------------------------------------------------

TWO = (("A", 1), ("B", 2))
FLOOD = 1000.0  # units a day: far more than any stock below, on every day


def test_shares_70_70_exact_numbers() -> None:
    """Pool 100, shares 70% + 70%: the incumbents list 140 and oversell 40; omnistock
    lists 50 + 50 and sells 100. Shop A is served first within the day."""
    snap = snapshot(pools={"S": 100}, shops=TWO, velocity={("S", "A"): FLOOD, ("S", "B"): FLOOD})
    shares = IncumbentPolicy(shares={"A": 70, "B": 70})
    theirs, tr = run(variant(snap, planner="incumbent", incumbent=shares), horizon_days=1)
    demand = int(tr.demand.sum())
    assert theirs.kpis["units_listed_day0"] == 140
    assert theirs.kpis["pool_utilisation"] == 1.4
    assert theirs.kpis["units_sold"] == 100 and theirs.kpis["units_oversold"] == 40
    assert theirs.kpis["revenue"] == 1000.0  # price 10.00
    assert theirs.kpis["lost_sales"] == demand - 140
    # A's refused orders: 30 units were still there; B's: nothing was
    a, b = tr.refused[0]
    assert theirs.kpis["oversell_attempts_prevented"] == (a - 30) + b
    assert theirs.kpis["avoidable_lost_sales"] == 0  # nothing left at the end of the day
    assert theirs.kpis["stranded_units_end"] == 0 and theirs.kpis["sell_through"] == 1.0

    ruleset = rules({"type": "percentage", "shares": {"A": 0.7, "B": 0.7}})
    ours, tr = run(variant(snap, ruleset), horizon_days=1)
    assert ours.kpis["units_listed_day0"] == 100
    assert ours.kpis["units_sold"] == 100 and ours.kpis["units_oversold"] == 0
    assert ours.kpis["lost_sales"] == demand - 100
    # when A refused, B's 50 units were still there (they sold on B)
    a, b = tr.refused[0]
    assert ours.kpis["oversell_attempts_prevented"] == (a - 50) + b
    assert ours.sold_by_shop_day == {"A": [50.0], "B": [50.0]}
    assert ours.sell_through_by_shop == {"A": 1.0, "B": 1.0}


def test_avoidable_lost_sales_are_capped_by_the_stock_left() -> None:
    """All 40 units on A, demand only on B: B loses its demand, of which 40 units
    (what sat on A at the end of each day... until a re-plan moves them) is avoidable."""
    snap = snapshot(pools={"S": 40}, shops=TWO, velocity={("S", "B"): 30.0})
    only_a = rules({"type": "fixed", "quantities": {"A": 40}})
    result, tr = run(variant(snap, only_a), horizon_days=3, replan_every_days=None)
    assert result.kpis["units_sold"] == 0
    lost_b = tr.refused[:, 1]
    assert result.kpis["lost_sales"] == lost_b.sum()
    assert list(tr.avoidable[:, 1]) == [min(x, 40) for x in lost_b]
    assert result.kpis["stranded_units_end"] == 0  # A still lists them
    assert result.kpis["oversell_attempts_prevented"] == 0
    assert result.kpis["cover_days_start"] == pytest.approx(40 / 30)


def test_an_arrival_is_sellable_stock_on_its_day() -> None:
    snap = snapshot(pools={"S": 0}, shops=TWO, velocity={("S", "A"): FLOOD})
    late = Arrival("S", "W1", 10, 3)
    replanned, tr = run(variant(snap, arrivals=(late,)), horizon_days=5, replan_every_days=1)
    assert list(tr.arrived[:, 0]) == [0, 0, 0, 10, 0]
    assert list(tr.shipped.sum(axis=1)) == [0, 0, 0, 10, 0]
    assert replanned.kpis["units_sold"] == 10 and replanned.kpis["sell_through"] == 1.0
    # without a re-plan nothing lists the new units: they are stranded, and avoidable
    stale, tr = run(variant(snap, arrivals=(late,)), horizon_days=5, replan_every_days=None)
    assert stale.kpis["units_sold"] == 0 and stale.kpis["stranded_units_end"] == 10
    assert list(tr.avoidable[:, 0]) == [0, 0, 0, 10, 10]
    # an arrival after the horizon never comes
    never = Arrival("S", "W1", 10, 9)
    result, _ = run(variant(snap, arrivals=(never,)), horizon_days=5)
    assert result.kpis["units_sold"] == 0


def test_the_shared_part_is_one_pool_seen_by_several_shops() -> None:
    snap = snapshot(pools={"S": 12}, shops=TWO, velocity={("S", "A"): FLOOD, ("S", "B"): FLOOD})
    ruleset = rules({"type": "shared_pool", "shops": ["A", "B"]})
    result, tr = run(variant(snap, ruleset), horizon_days=2)
    assert result.kpis["units_listed_day0"] == 12  # counted once
    assert list(tr.listing[0]) == [12, 12]  # shown on both shops
    assert result.kpis["units_sold"] == 12 and result.kpis["units_oversold"] == 0
    assert result.sold_by_shop_day == {"A": [12.0, 0.0], "B": [0.0, 0.0]}  # A first
    assert list(tr.listing[1]) == [0, 0]


def test_bundles_take_their_own_stock_then_components() -> None:
    """Kit K = 1 X + 2 Y with 1 unit of its own. The incumbents list X, Y and K each from
    the same component units: X sells out first, and K's orders beyond its own unit
    cannot be made: oversold. omnistock splits the component stock and oversells nothing."""
    velocity = {(s, shop): FLOOD for s in ("X", "Y", "K") for shop in ("A", "B")}
    snap = snapshot(
        pools={"X": 6, "Y": 10, "K": 1},
        shops=TWO,
        velocity=velocity,
        components={"K": [{"sku": "X", "qty": 1}, {"sku": "Y", "qty": 2}]},
    )
    ours, tr = run(variant(snap), horizon_days=2)
    assert ours.kpis["units_oversold"] == 0
    x, y, k = (tr.sku_ids.index(s) for s in ("X", "Y", "K"))
    kits = int(tr.shipped[:, tr.cell_sku == k].sum())
    singles = int(tr.shipped[:, tr.cell_sku == x].sum())
    assert kits >= 1 and tr.sold[:, k].sum() == 1  # its own unit
    assert tr.sold[:, x].sum() == singles + (kits - 1)
    assert tr.sold[:, y].sum() == int(tr.shipped[:, tr.cell_sku == y].sum()) + 2 * (kits - 1)
    only_a = IncumbentPolicy(shares={"B": 0})
    theirs, tr = run(variant(snap, planner="incumbent", incumbent=only_a), horizon_days=1)
    assert list(tr.listing[0][tr.cell_sku == k]) == [1 + min(6, 10 // 2), 0]
    assert tr.sold[0, x] == 6 and tr.sold[0, y] == 10 and tr.sold[0, k] == 1
    assert theirs.kpis["units_oversold"] == 5  # K: 6 accepted, its own unit shipped


def test_a_restricted_shop_keeps_its_warehouse() -> None:
    """B ships from W2 only, listed first in the file: A takes W1 first (the warehouse
    fewer of the SKU's shops reach), so B's units are still there when B sells."""
    stock = [
        {"sku": "S", "warehouse": "W2", "on_hand": 5},
        {"sku": "S", "warehouse": "W1", "on_hand": 5},
    ]
    snap = snapshot(
        pools={"S": 0},
        shops=TWO,
        warehouses=(("W2", "sellable"), ("W1", "sellable")),
        stock=stock,
        restricted={"B": ["W2"]},
        velocity={("S", "A"): 4.0, ("S", "B"): 4.0},
    )
    ruleset = rules({"type": "equal_split"})
    result, tr = run(variant(snap, ruleset), horizon_days=6, replan_every_days=None, seed=1)
    assert list(tr.listing[0]) == [5, 5]
    assert result.kpis["units_oversold"] == 0 and result.kpis["units_sold"] == 10
    # the incumbents count for B only what B's warehouse holds
    theirs, tr = run(
        variant(snap, ruleset, planner="incumbent", incumbent=IncumbentPolicy()), horizon_days=1
    )
    assert list(tr.listing[0]) == [10, 5]


def test_locked_units_a_shop_lock_returns_are_stock_where_they_sit() -> None:
    """W1 holds 1 sellable and 1 locked unit (given back to A by shop_lock), W2 5 units;
    B ships from W2 only. A sells W1's units before W2's, so B's are there for B."""
    stock = [
        {"sku": "S", "warehouse": "W1", "on_hand": 2, "locked": 1},
        {"sku": "S", "warehouse": "W2", "on_hand": 5},
    ]
    snap = snapshot(
        pools={"S": 0},
        shops=TWO,
        warehouses=(("W1", "sellable"), ("W2", "sellable")),
        stock=stock,
        restricted={"B": ["W2"]},
        velocity={("S", "A"): FLOOD, ("S", "B"): FLOOD},
    )
    lock = rules({"type": "shop_lock", "shop": "A"})
    result, tr = run(variant(snap, lock), horizon_days=2, replan_every_days=None)
    assert tr.start[0, 0] == 7 and tr.listing[0].sum() == 7
    assert result.kpis["units_oversold"] == 0 and result.kpis["units_sold"] == 7


def test_a_shop_that_can_make_kits_leaves_the_kits_own_stock_to_one_that_cannot() -> None:
    """Kit K = X + 2 Y, one K in W2; X sits in W1, Y in W2. B ships from W2 only, so it
    can list only the K already made; A (served first) makes its K from X and Y."""
    stock = [
        {"sku": "X", "warehouse": "W1", "on_hand": 2},
        {"sku": "Y", "warehouse": "W2", "on_hand": 3},
        {"sku": "K", "warehouse": "W2", "on_hand": 1},
    ]
    snap = snapshot(
        pools={"X": 0, "Y": 0, "K": 0},
        shops=TWO,
        warehouses=(("W1", "sellable"), ("W2", "sellable")),
        stock=stock,
        restricted={"B": ["W2"]},
        velocity={("K", "A"): FLOOD, ("K", "B"): FLOOD},
        components={"K": [{"sku": "X", "qty": 1}, {"sku": "Y", "qty": 2}]},
    )
    result, tr = run(variant(snap), horizon_days=3, replan_every_days=None)
    k = tr.sku_ids.index("K")
    assert list(tr.listing[0][tr.cell_sku == k]) == [1, 1]
    assert result.kpis["units_oversold"] == 0 and result.kpis["units_sold"] == 2
    assert result.sold_by_shop_day == {"A": [1.0, 0.0, 0.0], "B": [1.0, 0.0, 0.0]}


# --- Hypothesis: random small inputs -----------------------------------------------------


@st.composite
def small_cases(draw: st.DrawFn) -> tuple[VariantInputs, SimulationSettings]:
    shops = (("A", 1), ("B", 2), ("C", 3))[: draw(st.integers(2, 3))]
    names = [s for s, _ in shops]
    warehouses = (("W1", "sellable"), ("W2", "sellable"))[: draw(st.integers(1, 2))]
    skus = [f"S{i}" for i in range(draw(st.integers(1, 3)))]
    stock = []
    for sku in skus:
        for w, _ in warehouses:
            units = draw(st.integers(0, 30))
            if units:
                row = {"sku": sku, "warehouse": w, "on_hand": units}
                row |= {"reserved": draw(st.integers(0, 4)), "locked": draw(st.integers(0, 4))}
                row |= {"in_transit": draw(st.sampled_from([0, 0, 6]))}
                stock.append(row)
    bundle = len(skus) == 3 and draw(st.booleans())
    velocity = {(k, s): draw(st.sampled_from([0.0, 0.5, 2.0, 6.0])) for k in skus for s in names}
    restricted = None
    if len(warehouses) == 2:  # nested: some shops ship from W2 only, the others from both
        limited = draw(st.lists(st.sampled_from(names[1:]), unique=True, max_size=2))
        restricted = {s: ["W2"] for s in limited}
    data = snapshot_data(
        pools={k: 0 for k in skus},
        shops=shops,
        warehouses=warehouses,
        stock=stock,
        velocity=velocity,
        components={"S2": [{"sku": "S0", "qty": 1}, {"sku": "S1", "qty": 2}]} if bundle else None,
        restricted=restricted,
    )
    share = draw(st.sampled_from(["none", "percentage", "shared", "velocity", "equal"]))
    items: list[dict[str, Any]] = []
    if share == "percentage":
        shares = {s: draw(st.sampled_from([0.0, 0.3, 0.5, 0.7])) for s in names}
        items.append({"type": "percentage", "shares": shares})
    elif share == "shared":
        items.append({"type": "shared_pool", "shops": names[:2]})
    elif share == "velocity":
        items.append({"type": "velocity_proportional"})
    elif share == "equal":
        items.append({"type": "equal_split"})
    if draw(st.booleans()):
        items.append({"type": "safety_stock", "quantity": draw(st.integers(1, 3))})
    if draw(st.booleans()):
        items.append({"type": "shop_lock", "shop": "A"})
    if draw(st.booleans()):
        items.append({"type": "stock_composition", "in_transit": True})
    uplifts: tuple[Uplift, ...] = ()
    if draw(st.booleans()):
        uplifts = (Uplift(3.0, 1, 3, shops=(names[-1],), planned=draw(st.booleans())),)
    arrivals: tuple[Arrival, ...] = ()
    if draw(st.booleans()):
        arrivals = (Arrival(skus[0], warehouses[-1][0], draw(st.integers(1, 20)), 2),)
    incumbent = None
    if draw(st.booleans()):
        percents = st.sampled_from([0.0, 30.0, 50.0, 100.0])
        incumbent = IncumbentPolicy(
            shares={s: draw(percents) for s in names}, safety_stock=draw(st.integers(0, 2))
        )
    inputs = VariantInputs(
        name="h",
        snapshot=parse_snapshot(data),
        ruleset=rules(*items),
        mode=draw(st.sampled_from(["normal", "peak"])),
        planner="omnistock" if incumbent is None else "incumbent",
        incumbent=incumbent,
        uplifts=uplifts,
        arrivals=arrivals,
        closed_shops=frozenset({"B"}) if draw(st.booleans()) else frozenset(),
    )
    days = SimulationSettings(
        horizon_days=5,
        replan_every_days=draw(st.sampled_from([None, 1, 2])),
        seed=draw(st.integers(0, 2**32)),
    )
    return inputs, days


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_cases())
def test_omnistock_never_oversells_and_every_unit_is_accounted_for(
    case: tuple[VariantInputs, SimulationSettings],
) -> None:
    inputs, days = case
    result, traces = simulate_traced(inputs, days)
    if inputs.planner == "omnistock":
        assert result.kpis["units_oversold"] == 0
    check_ledger(traces[0])
    tr = traces[0]
    closed = np.isin(np.array(tr.shop_ids)[tr.cell_shop], list(inputs.closed_shops))
    assert not tr.listing[:, closed].any()
    assert result.kpis["units_sold"] == tr.shipped.sum()
    assert result.kpis["lost_sales"] == tr.refused.sum()


def test_replans_see_the_day_planned_uplifts_and_rule_windows() -> None:
    snap = snapshot(pools={"S": 60}, shops=TWO, velocity={("S", "A"): 1.0, ("S", "B"): 1.0})
    split = {"type": "velocity_proportional"}
    for planned, on_a in ((True, 50), (False, 30)):
        campaign = Uplift(5.0, 0, 9, shops=("A",), planned=planned)
        _, tr = run(variant(snap, rules(split), uplifts=(campaign,)), horizon_days=1)
        assert tr.listing[0, 0] == on_a
    # a cap on B from the third day on: re-plans move as_of forward a day at a time
    window = {"type": "max_cap", "quantity": 0, "scope": {"shop": ["B"]}}
    window["active_from"] = "2026-11-13T00:00:00+08:00"  # the snapshot's as_of + 2 days
    _, tr = run(variant(snap, rules(split, window)), horizon_days=4, replan_every_days=1)
    assert (tr.listing[:2, 1] > 0).all() and not tr.listing[2:, 1].any()


def test_a_replan_whose_rules_conflict_leaves_the_listings_as_they_were() -> None:
    snap = snapshot(pools={"S": 40}, shops=TWO, velocity={("S", "A"): FLOOD})
    fixed = rules({"id": "pin", "type": "fixed", "quantities": {"A": 30}})
    result, tr = run(variant(snap, fixed), horizon_days=3, replan_every_days=1)
    assert result.plans_made == 1 and tr.plan_days == [0]
    assert len(result.warnings) == 2 and "day 1" in result.warnings[0]
    assert "pin" in result.warnings[0]
    assert list(tr.listing[:, 1]) == [10, 10, 10]  # B keeps what day 0 gave it
    with pytest.raises(ConflictError):
        simulate(variant(snapshot(pools={"S": 20}, shops=TWO), fixed), SimulationSettings())
