"""The planner splits a problem into separable and coupled SKUs; the split must never
cut a row (here: a shop capacity that a shared part also counts against)."""

from __future__ import annotations

import pytest

from tests.helpers import plan, snapshot
from tests.invariants import assert_plan_invariants


def test_shared_part_and_exclusive_units_share_one_capacity() -> None:
    rules = [
        {"id": "shared", "type": "shared_pool", "scope": {"skus": ["S1"]}, "shops": ["A", "B"]},
        {"id": "split", "type": "equal_split", "scope": {"skus": ["S2"]}},
        {"id": "room", "type": "shop_capacity", "quantities": {"A": 12}},
    ]
    snap = snapshot(pools={"S1": 10, "S2": 30})
    p = plan(snap, rules)
    assert_plan_invariants(snap, rules, p)
    load = sum(a.quantity + a.shared for a in p.allocations if a.shop == "A")
    assert load <= 12
    assert len(p.solver_parts) == 1 and p.solver_parts[0].skus == 2


def test_closed_form_in_slices_gives_the_same_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.bench.instances import make_instance
    from engine.planning.planner import run_planner
    from solvers import closed

    inst = make_instance("separable", 5_000, 10, seed=2)
    whole = run_planner(inst.index, inst.ruleset, "normal")
    monkeypatch.setattr(closed, "CHUNK_CELLS", 700)
    sliced = run_planner(inst.index, inst.ruleset, "normal")
    assert (whole.solved.x == sliced.solved.x).all()
    assert (whole.solved.shared == sliced.solved.shared).all()
