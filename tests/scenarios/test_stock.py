"""The simulator's stock: the one-item paths a bundle's orders take give exactly what
the array paths give for the same item, in the units served and in the state left."""

from __future__ import annotations

import copy

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.scenarios.prepared import prepare
from engine.scenarios.spec import SimulationSettings, VariantInputs
from engine.scenarios.stock import Stock
from tests.scenarios.test_simulate import small_cases

STATE = ("on_hand", "locked", "sellable_wh", "locked_wh")


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_cases(), st.data())
def test_serving_one_item_equals_serving_it_as_an_array(
    case: tuple[VariantInputs, SimulationSettings], data: st.DataObject
) -> None:
    inputs, days = case
    v = prepare(inputs, days, 60.0)
    ix = v.index
    stock = Stock(ix, v.supply0)
    for _ in range(data.draw(st.integers(1, 6))):
        cell = data.draw(st.integers(0, ix.n_cells - 1))
        sku = int(ix.cell_sku[cell])
        need = data.draw(st.integers(0, 40))
        other = copy.deepcopy(stock)
        skus = np.arange(ix.n_skus)
        assert (
            stock.reachable_one(cell, sku) == other.reachable(np.array([cell]), np.array([sku]))[0]
        )
        assert np.array_equal(
            stock.reachable_at(cell, skus), other.reachable(np.full(ix.n_skus, cell), skus)
        )
        served = other.serve(np.array([cell]), np.array([sku]), np.array([need]))
        assert stock.serve_one(cell, sku, need) == (served.taken[0], served.left[0])
        for name in STATE:
            assert np.array_equal(getattr(stock, name), getattr(other, name)), name
