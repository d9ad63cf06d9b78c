"""A shop's view read off the snapshot's index and the plan's rows
(engine/shelf/from_plan.py) makes the shelf and selection inputs that the row-by-row
view of the models (tests/shelf/reference_from_plan.py) makes, for every shop of random
snapshots and plans: prices, categories, tags, listings of 0 units, velocities and
shared units."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from engine.core.io import parse_snapshot
from engine.shelf.from_plan import (
    selection_from_plan,
    selection_of_view,
    shelf_from_plan,
    shelf_of_view,
)
from tests.shelf import reference_from_plan as reference
from tests.shelf.test_check_arrays import drawn_plan, snapshots


@given(data=st.data(), document=snapshots())
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_index_builds_the_shelf_the_rows_build(
    data: st.DataObject, document: dict[str, Any]
) -> None:
    note(repr(document))
    snapshot = parse_snapshot(document)
    plan = drawn_plan(data.draw, snapshot)
    slots = data.draw(st.integers(1, 4))
    for shop in (s.id for s in snapshot.shops):
        rows = reference.ShopView(snapshot, plan, shop)
        built = shelf_from_plan(snapshot, plan, shop, slots)
        assert built == shelf_of_view(rows, slots)
        chosen = selection_from_plan(snapshot, plan, shop, None, 2)
        assert chosen == selection_of_view(rows, None, 2)
