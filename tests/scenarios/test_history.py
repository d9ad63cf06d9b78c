"""What simulated planners know of demand (engine/scenarios/history.py): the censored
sales ledger, the warm-up history, the planner's velocity under each knowledge, and the
KPI unsold_units_end."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.core.index import SnapshotIndex
from engine.core.io import parse_snapshot
from engine.core.snapshot import Snapshot
from engine.demand.estimate import DemandHistory, estimate_demand, naive_rate
from engine.scenarios import replication as replication_module
from engine.scenarios.demand import cell_keys, demand, poisson_quantile, uniforms
from engine.scenarios.history import (
    RESTOCK_EVERY_DAYS,
    planner_demand,
    warmup_history,
    warmup_key,
)
from engine.scenarios.listing import Listing
from engine.scenarios.prepared import prepare
from engine.scenarios.replication import Replication
from engine.scenarios.shape import COVER_DAYS, shape_snapshot
from engine.scenarios.simulate import simulate_traced
from engine.scenarios.spec import IncumbentPolicy, SimulationSettings, Uplift, VariantInputs
from rules.catalog import Ruleset
from rules.load import parse_ruleset
from tests.helpers import snapshot
from tests.scenarios.test_simulate import small_cases

TWO = (("A", 1), ("B", 2))
FLOOD = 1000.0


def rules(*items: dict[str, Any]) -> Ruleset:
    return parse_ruleset({"rules": list(items)})


def played(
    inputs: VariantInputs, settings_: SimulationSettings, replication: int = 0
) -> Replication:
    """One replication played to its end, traced, as simulate plays it."""
    v = prepare(inputs, settings_, 60.0)
    rep = Replication(v, replication, trace=True)
    for t in range(v.days):
        rep.day(t)
    rep.finish()
    return rep


def learned(snap: Snapshot, ruleset: Ruleset, **fields: Any) -> VariantInputs:
    return VariantInputs("v", snap, ruleset, "normal", **fields)


# --- the ledger: censored sales ---------------------------------------------------------


def test_a_sold_out_day_records_sales_equal_to_the_listing_and_is_censored() -> None:
    """A lists 2 units against a flood of demand: day 0 records 2 sold, censored, and
    every later day 0 sold, censored (listed at 0). B lists 1 unit nobody buys: 0 sold,
    not censored (demand was 0, exactly what it sold)."""
    snap = snapshot(pools={"S": 3}, shops=TWO, velocity={("S", "A"): FLOOD})
    pinned = rules({"type": "fixed", "quantities": {"A": 2, "B": 1}})
    days = SimulationSettings(horizon_days=3, replan_every_days=None, warmup_days=4)
    rep = played(learned(snap, pinned, planner_velocity="naive"), days)
    assert rep.ledger is not None and rep.trace is not None
    assert rep.ledger.days == 4 + 3
    assert rep.ledger.units[:, 4:].tolist() == [[2, 0, 0], [0, 0, 0]]
    assert rep.ledger.censored[:, 4:].tolist() == [[True] * 3, [False] * 3]
    assert rep.trace.demand[0, 0] > 2  # the flood: demand was more than the sales recorded


def test_a_planner_on_the_true_means_keeps_no_ledger() -> None:
    snap = snapshot(pools={"S": 3}, shops=TWO, velocity={("S", "A"): 1.0})
    rep = played(learned(snap, rules()), SimulationSettings(horizon_days=2))
    assert rep.ledger is None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_cases(), st.sampled_from(["naive", "estimated"]))
def test_the_ledger_records_accepted_orders_and_censors_every_day_with_lost_demand(
    case: tuple[VariantInputs, SimulationSettings], source: str
) -> None:
    """On random small cases (shared parts, bundles, closed shops, incumbents): a day's
    record is the orders the cell accepted; a day on which the cell refused demand is
    censored; an uncensored day sold exactly its demand."""
    inputs, days = case
    if inputs.planner == "omnistock":
        inputs = replace(inputs, planner_velocity=source)  # type: ignore[arg-type]
    days = replace(days, demand_knowledge="history", warmup_days=3)
    rep = played(inputs, days)
    ledger, tr = rep.ledger, rep.trace
    assert ledger is not None and tr is not None
    sold = ledger.units[:, 3:].T
    censored = ledger.censored[:, 3:].T
    assert np.array_equal(sold, tr.accepted)
    assert censored[tr.refused > 0].all()
    assert np.array_equal(sold[~censored], tr.demand[~censored])


# --- what the planner is given ----------------------------------------------------------


def spy_on_planners(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, SnapshotIndex]]:
    """Every index a planner is handed, omnistock's and the incumbents', in order."""
    seen: list[tuple[str, SnapshotIndex]] = []
    omnistock, incumbent = replication_module.omnistock_listing, replication_module.incumbent_plan

    def omnistock_spy(index: SnapshotIndex, *args: Any, **kwargs: Any) -> Listing:
        seen.append(("omnistock", index))
        return omnistock(index, *args, **kwargs)

    def incumbent_spy(index: SnapshotIndex, *args: Any, **kwargs: Any) -> Listing:
        seen.append(("incumbent", index))
        return incumbent(index, *args, **kwargs)

    monkeypatch.setattr(replication_module, "omnistock_listing", omnistock_spy)
    monkeypatch.setattr(replication_module, "incumbent_plan", incumbent_spy)
    return seen


# Distinctive true means: no estimate from a few days of integer sales lands on them.
TRUE_MEANS = {("S", "A"): 2.37, ("S", "B"): 0.61, ("T", "A"): 0.173, ("T", "B"): 5.09}


def test_under_history_no_planner_is_handed_the_true_means(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each re-plan's velocity is the estimator's (naive: the naive average's) on the
    sales recorded before that day, never the means the world draws from; with the true
    means the same spy sees them (so the check can fail)."""
    seen = spy_on_planners(monkeypatch)
    snap = snapshot(pools={"S": 40, "T": 60}, shops=TWO, velocity=TRUE_MEANS)
    split = rules({"type": "velocity_proportional"})
    days = SimulationSettings(
        horizon_days=4, replan_every_days=2, demand_knowledge="history", warmup_days=10
    )
    true_velocity = SnapshotIndex.build(snap).velocity
    for source, learn in (("estimated", estimate_demand), ("naive", naive_rate)):
        seen.clear()
        rep = played(learned(snap, split, planner_velocity=source), days)
        assert rep.ledger is not None and [t for t, _ in seen] == ["omnistock"] * 2
        for t, (_, index) in zip((0, 2), seen, strict=True):
            assert not np.allclose(index.velocity, true_velocity)
            history = DemandHistory(
                units=rep.ledger.units[:, : 10 + t],
                censored=rep.ledger.censored[:, : 10 + t],
                cell_sku=index.cell_sku,
                cell_shop=index.cell_shop,
                sku_category=index.sku_category,
                n_shops=index.n_shops,
            )
            found = learn(history)
            rate = found.rate if not isinstance(found, np.ndarray) else found
            assert np.allclose(index.velocity, rate)
    seen.clear()
    played(learned(snap, split, planner_velocity="true"), days)
    assert all(np.allclose(index.velocity, true_velocity) for _, index in seen)


def test_the_estimator_is_not_shown_the_days_a_planned_uplift_lifted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A planned 4x campaign on A on days 0-1: the re-plan of day 2 estimates from a
    history in which those cells and days are censored at 0 (no information); every
    other day and cell as sold. The naive average takes the sales as they were."""
    seen = spy_on_planners(monkeypatch)
    snap = snapshot(pools={"S": 400, "T": 600}, shops=TWO, velocity=TRUE_MEANS)
    campaign = Uplift(4.0, 0, 1, shops=("A",), planned=True)
    days = SimulationSettings(
        horizon_days=3, replan_every_days=2, demand_knowledge="history", warmup_days=10
    )
    split = rules({"type": "velocity_proportional"})
    for source in ("estimated", "naive"):
        seen.clear()
        rep = played(learned(snap, split, uplifts=(campaign,), planner_velocity=source), days)
        ledger = rep.ledger
        assert ledger is not None
        index = seen[1][1]
        on_a = index.cell_shop == index.shop_pos["A"]
        lifted = np.zeros((index.n_cells, 12), dtype=bool)
        lifted[on_a, 10:12] = True
        assert np.array_equal(ledger.lifted[:, :12], lifted)
        assert ledger.units[on_a, 10:12].sum() > 0  # the campaign sold
        ledger.days = 12  # as it stood at the re-plan of day 2
        raw = ledger.history(index)
        assert np.array_equal(raw.units, ledger.units[:, :12])
        everyday = ledger.history(index, everyday=True)
        assert not everyday.units[lifted].any() and everyday.censored[lifted].all()
        assert np.array_equal(everyday.units[~lifted], raw.units[~lifted])
        if source == "estimated":
            assert np.allclose(index.velocity, estimate_demand(everyday).rate)
        else:
            assert np.allclose(index.velocity, naive_rate(raw))


def test_every_planner_is_handed_the_same_information(monkeypatch: pytest.MonkeyPatch) -> None:
    """Day 0 of one replication: omnistock and the incumbents see the same warm-up, so
    the same velocity."""
    seen = spy_on_planners(monkeypatch)
    snap = snapshot(pools={"S": 40, "T": 60}, shops=TWO, velocity=TRUE_MEANS)
    days = SimulationSettings(horizon_days=1, demand_knowledge="history", warmup_days=14)
    played(learned(snap, rules({"type": "equal_split"})), days)
    equal = IncumbentPolicy(default_share_pct=50)
    played(learned(snap, rules(), planner="incumbent", incumbent=equal), days)
    (_, ours), (_, theirs) = seen
    assert np.array_equal(ours.velocity, theirs.velocity)
    assert np.array_equal(ours.dispersion, theirs.dispersion)


def test_the_planner_velocity_follows_the_demand_knowledge_unless_the_variant_says() -> None:
    snap = snapshot(pools={"S": 4}, shops=TWO, velocity={("S", "A"): 1.0})
    inputs = learned(snap, rules())
    assert SimulationSettings(demand_knowledge="true").velocity_of(inputs) == "true"
    assert SimulationSettings(demand_knowledge="history").velocity_of(inputs) == "estimated"
    naive = replace(inputs, planner_velocity="naive")
    assert SimulationSettings(demand_knowledge="true").velocity_of(naive) == "naive"


def test_a_result_names_the_velocity_omnistock_planned_on() -> None:
    snap = snapshot(pools={"S": 4}, shops=TWO, velocity={("S", "A"): 1.0})
    days = SimulationSettings(horizon_days=1, demand_knowledge="history", warmup_days=7)
    ours = simulate_traced(learned(snap, rules()), days, trace=False)[0]
    equal = IncumbentPolicy(default_share_pct=50)
    theirs = simulate_traced(learned(snap, rules(), planner="incumbent", incumbent=equal), days)
    assert ours.planner_velocity == "estimated" and theirs[0].planner_velocity is None


@pytest.mark.parametrize("source", ["naive", "estimated"])
def test_without_a_warm_up_the_first_plan_still_lists_the_pool(source: str) -> None:
    """No history at all on day 0: nothing is known of any shop, and the split still
    places the whole pool (velocity_proportional splits evenly without sales)."""
    snap = snapshot(pools={"S": 10}, shops=TWO, velocity={("S", "A"): 1.0})
    split = rules({"type": "velocity_proportional"})
    days = SimulationSettings(horizon_days=3, demand_knowledge="history", warmup_days=0)
    rep = played(learned(snap, split, planner_velocity=source), days)
    assert rep.ledger is not None and rep.ledger.days == 3
    assert rep.totals.units_listed_day0 == 10


def test_planner_demand_under_the_true_means_is_poisson_at_the_snapshot_velocity() -> None:
    index = SnapshotIndex.build(snapshot(pools={"S": 4, "T": 1}, shops=TWO, velocity=TRUE_MEANS))
    velocity, dispersion = planner_demand("true", index, None)
    assert np.array_equal(velocity, index.velocity) and np.isinf(dispersion).all()


# --- the warm-up ------------------------------------------------------------------------


def warm(snap: Snapshot, seed: int, replication: int, days: int) -> tuple[Any, Any]:
    index = SnapshotIndex.build(snap)
    physical = np.bincount(
        [index.sku_pos[row.sku] for row in snap.stock],
        weights=[row.on_hand for row in snap.stock],
        minlength=index.n_skus,
    ).astype(np.int64)
    return warmup_history(index, cell_keys(index), physical, seed, replication, days)


def test_the_warm_up_is_seeded_and_differs_by_replication_and_from_the_horizon() -> None:
    snap = snapshot(pools={"S": 30, "T": 3}, shops=TWO, velocity=TRUE_MEANS)
    units, censored = warm(snap, 5, 0, 28)
    again = warm(snap, 5, 0, 28)
    assert np.array_equal(units, again[0]) and np.array_equal(censored, again[1])
    assert not np.array_equal(units, warm(snap, 5, 1, 28)[0])
    assert not np.array_equal(units, warm(snap, 6, 0, 28)[0])
    index = SnapshotIndex.build(snap)
    horizon = demand(np.broadcast_to(index.velocity, (28, index.n_cells)), cell_keys(index), 5, 0)
    assert not np.array_equal(units.T, horizon)
    assert warmup_key(5, 0) != warmup_key(5, 1)


def test_the_warm_up_sells_through_weekly_equal_shares_and_censors_sold_out_days() -> None:
    """Each cell is topped up every 7 days to an equal share of the SKU's stock (the
    remainder to the first shops); it sells min(demand, what is left) and is censored
    exactly when nothing is left at the end of the day."""
    snap = snapshot(pools={"S": 7, "T": 500}, shops=TWO, velocity=TRUE_MEANS)
    index = SnapshotIndex.build(snap)
    days = 21
    units, censored = warm(snap, 3, 0, days)
    wanted = poisson_quantile(
        uniforms(cell_keys(index), warmup_key(3, 0), days),
        np.broadcast_to(index.velocity, (days, index.n_cells)),
    ).T
    level = {("S", "A"): 4, ("S", "B"): 3, ("T", "A"): 250, ("T", "B"): 250}
    for c in range(index.n_cells):
        key = (index.sku_ids[index.cell_sku[c]], index.shop_ids[index.cell_shop[c]])
        assert all(0 <= units[c, d] <= wanted[c, d] for d in range(days))
        sold_out = units[c] < wanted[c]
        assert censored[c][sold_out].all()  # a refused order: censored
        # no week sells more than the level it was topped up to
        for start in range(days - RESTOCK_EVERY_DAYS + 1):
            assert units[c, start : start + RESTOCK_EVERY_DAYS].sum() <= 2 * level[key]
    # the fast cell on the small SKU sells out; the ample SKU never does
    s_a, t_b = cell(index, "S", "A"), cell(index, "T", "B")
    assert censored[s_a].any() and not censored[t_b].any()
    assert np.array_equal(units[t_b], wanted[t_b])


def replayed(wanted: Any, level: int, weekday: int) -> tuple[list[int], list[bool]]:
    """One cell's warm-up by hand: topped up to `level` on days d % 7 == weekday (and
    listed at `level` before the first), selling min(demand, what is left)."""
    listed, units, censored = level, [], []
    for d, want in enumerate(wanted):
        if d % RESTOCK_EVERY_DAYS == weekday:
            listed = level
        sold = min(int(want), listed)
        listed -= sold
        units.append(sold)
        censored.append(listed == 0)
    return units, censored


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 40), min_size=1, max_size=3),
    st.lists(st.sampled_from([0.0, 0.3, 1.5, 6.0]), min_size=9, max_size=9),
    st.integers(1, 3),
    st.integers(1, 20),
    st.integers(0, 2**32),
)
def test_the_warm_up_replays_weekly_equal_shares_exactly(
    pools: list[int], rates: list[float], n_shops: int, days: int, seed: int
) -> None:
    """Every cell's warm-up is the hand replay of an equal share (remainder to the first
    shops) topped up weekly, on one weekday shared by the SKU's cells."""
    skus = [f"S{k}" for k in range(len(pools))]
    shops = (("A", 1), ("B", 2), ("C", 3))[:n_shops]
    velocity = {
        (sku, shop): rates[3 * k + j]
        for k, sku in enumerate(skus)
        for j, (shop, _) in enumerate(shops)
        if rates[3 * k + j] > 0
    }
    snap = snapshot(pools=dict(zip(skus, pools, strict=True)), shops=shops, velocity=velocity)
    index = SnapshotIndex.build(snap)
    units, censored = warm(snap, seed, 0, days)
    wanted = poisson_quantile(
        uniforms(cell_keys(index), warmup_key(seed, 0), days),
        np.broadcast_to(index.velocity, (days, index.n_cells)),
    ).T
    for k, pool in enumerate(pools):
        cells = np.flatnonzero(index.cell_sku == k)
        levels = [pool // cells.size + (r < pool % cells.size) for r in range(cells.size)]
        fits = [
            w
            for w in range(RESTOCK_EVERY_DAYS)
            if all(
                replayed(wanted[c], level, w) == (units[c].tolist(), censored[c].tolist())
                for c, level in zip(cells, levels, strict=True)
            )
        ]
        assert fits, (skus[k], pool)


def cell(index: SnapshotIndex, sku: str, shop: str) -> int:
    at = (index.cell_sku == index.sku_pos[sku]) & (index.cell_shop == index.shop_pos[shop])
    return int(np.flatnonzero(at)[0])


# --- unsold_units_end -------------------------------------------------------------------


def test_unsold_units_end_counts_every_physical_unit_left_listed_or_not() -> None:
    """S: 10 units, A may list 4 and B none; A's flood sells the 4, 6 are left unlisted
    (stranded). T: 7 units nobody buys, listed. Unsold: 6 + 7; stranded: 6."""
    snap = snapshot(pools={"S": 10, "T": 7}, shops=TWO, velocity={("S", "A"): FLOOD})
    capped = rules(
        {"type": "max_cap", "scope": {"skus": ["S"]}, "quantities": {"A": 4, "B": 0}},
        {"type": "equal_split"},
    )
    result, (tr,) = simulate_traced(
        learned(snap, capped), SimulationSettings(horizon_days=2, replan_every_days=None)
    )
    assert result.kpis["units_sold"] == 4
    assert result.kpis["unsold_units_end"] == 13
    assert result.kpis["stranded_units_end"] == 6
    assert result.kpis["unsold_units_end"] == tr.left[-1].sum()


# --- the shape generator ----------------------------------------------------------------


def test_the_shape_is_seeded_long_tailed_and_covers_8_to_25_days() -> None:
    doc = shape_snapshot(300, 5, 4)
    assert doc == shape_snapshot(300, 5, 4) and doc != shape_snapshot(300, 5, 5)
    snap = parse_snapshot(doc)
    index = SnapshotIndex.build(snap)
    speed = np.bincount(index.cell_sku, weights=index.velocity, minlength=index.n_skus)
    on_hand = np.array([row.on_hand for row in snap.stock])
    lo, hi = COVER_DAYS
    # within a unit either way: stock is rounded to whole units (at least 1)
    assert ((on_hand + 1) / speed >= lo).all() and ((on_hand - 1) / speed <= hi).all()
    assert speed.max() > 10 * np.median(speed)  # a long tail
    # the best shop differs between SKUs of one category
    dense = np.zeros((index.n_skus, index.n_shops))
    dense[index.cell_sku, index.cell_shop] = index.velocity
    best = dense.argmax(axis=1)
    category = index.sku_category
    assert any(np.unique(best[category == c]).size > 1 for c in np.unique(category))
