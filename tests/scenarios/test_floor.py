"""The floor under unsold units at the end (engine/scenarios/floor.py): no simulated plan
leaves fewer unsold, and on a hand-made case it is exactly what reach strands."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings

from engine.scenarios.floor import file_floors, unsold_floor
from engine.scenarios.prepared import prepare
from engine.scenarios.simulate import simulate_traced
from engine.scenarios.spec import SimulationSettings, VariantInputs
from tests.helpers import snapshot
from tests.scenarios.test_simulate import rules, small_cases, variant

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_cases())
def test_no_plan_leaves_fewer_units_unsold_than_the_floor(
    case: tuple[VariantInputs, SimulationSettings],
) -> None:
    """On random small cases (restricted shops, bundles, locks, closed shops, in-transit
    units, arrivals, incumbents and omnistock): the units left at the end of each SKU are
    at least its floor on the demand the replication drew."""
    inputs, days = case
    result, (tr,) = simulate_traced(inputs, days)
    floor = unsold_floor(prepare(inputs, days, 60.0), tr.demand)
    assert (floor >= 0).all()
    assert (tr.left[-1] >= floor).all(), (tr.left[-1], floor)
    assert result.kpis["unsold_units_end"] >= floor.sum()


def test_units_a_shop_cannot_reach_are_the_floor() -> None:
    """S: 10 units in W1, which only A reaches (B ships from W2 alone); demand A 3, B 50
    over the horizon: 7 unsold whatever the plan. T: 4 units in W2, both reach it,
    demand 6: none. K (kit of 2 T and 1 S, 4 of its own in W1) sold on B: its own units
    are B's to sell only from W2, so all 4 stay; its demand of 5 on B may take 10 of T."""
    stock = [
        {"sku": "S", "warehouse": "W1", "on_hand": 10},
        {"sku": "T", "warehouse": "W2", "on_hand": 4},
        {"sku": "K", "warehouse": "W1", "on_hand": 4},
    ]
    snap = snapshot(
        pools={"S": 0, "T": 0, "K": 0},
        shops=(("A", 1), ("B", 2)),
        warehouses=(("W1", "sellable"), ("W2", "sellable")),
        stock=stock,
        velocity={("S", "A"): 1.0, ("S", "B"): 1.0, ("T", "B"): 1.0, ("K", "B"): 1.0},
        components={"K": [{"sku": "T", "qty": 2}, {"sku": "S", "qty": 1}]},
        restricted={"B": ["W2"]},
    )
    v = prepare(variant(snap, rules()), SimulationSettings(horizon_days=2), 60.0)
    ix = v.index
    wanted = np.zeros((2, ix.n_cells), dtype=np.int64)
    for (sku, shop), units in {("S", "A"): 3, ("S", "B"): 50, ("T", "B"): 6, ("K", "B"): 5}.items():
        cell = np.flatnonzero(
            (ix.cell_sku == ix.sku_pos[sku]) & (ix.cell_shop == ix.shop_ids.index(shop))
        )
        wanted[1, cell] = units
    floor = dict(zip(ix.sku_ids, unsold_floor(v, wanted).tolist(), strict=True))
    assert floor == {"K": 4, "S": 7, "T": 0}


def test_versus_incumbent_places_stock_where_its_demand_is() -> None:
    """The restocked demo places each SKU's units by the demand each warehouse serves
    (Douyin's b2 shop ships from Guangzhou only): what no plan sells is what the
    horizon's demand draws leave, well under 1% of the 99,794 units."""
    floors = file_floors(SCENARIOS / "versus-incumbent.yaml")
    assert floors["base"] == floors["incumbent-equal"] < 1000
    assert floors["omnistock-double11"] < floors["base"]  # more demand strands fewer
