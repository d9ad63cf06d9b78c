"""rules/groups.py builds the supply-group rows with array operations; the loop it
replaced (tests/rules/groups_by_loop.py) is the reference: the same rows, in the same
order, with the same cells, on random warehouse scopes and on the demo's stack."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rules.compile
from engine.core.index import SnapshotIndex
from engine.core.io import parse_snapshot
from engine.demo import build_demo
from rules.compile import compile_problem
from rules.draft import Draft
from rules.groups import supply_groups
from rules.load import parse_ruleset
from solvers.problem import Groups
from tests.helpers import snapshot_data
from tests.rules.groups_by_loop import supply_groups_by_loop

SHOPS = (("A", 1), ("B", 2), ("C", 3), ("D", 4))
WAREHOUSES = (("W1", "sellable"), ("W2", "sellable"), ("W3", "sellable"))


def same_groups(a: Groups | None, b: Groups | None) -> None:
    assert (a is None) == (b is None)
    if a is None or b is None:
        return
    for name in ("sku", "cap", "indptr", "cells", "with_shared"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def compile_comparing(monkeypatch: pytest.MonkeyPatch, snap: dict[str, Any], rules: Any) -> int:
    """Compile with both builders; returns how many group rows there were."""
    rows = [0]

    def both(d: Draft, by_wh: Any, reach: Any) -> Groups | None:
        new = supply_groups(d, by_wh, reach)
        same_groups(new, supply_groups_by_loop(d, by_wh, reach))
        rows[0] += 0 if new is None else new.cap.size
        return new

    monkeypatch.setattr(rules_compile, "supply_groups", both)
    parsed = parse_snapshot(snap, "test")
    compile_problem(SnapshotIndex.build(parsed), parse_ruleset(rules, "test"), parsed.mode)
    return rows[0]


rules_compile = rules.compile


@settings(max_examples=120, deadline=None)
@given(data=st.data())
def test_random_scopes_give_the_loops_rows(data: st.DataObject) -> None:
    skus = [f"S{i}" for i in range(data.draw(st.integers(1, 5)))]
    stock = [
        {"sku": s, "warehouse": w, "on_hand": data.draw(st.integers(0, 12))}
        for s in skus
        for w, _ in WAREHOUSES
        if data.draw(st.booleans())
    ] or [{"sku": skus[0], "warehouse": "W1", "on_hand": 3}]
    whs = [w for w, _ in WAREHOUSES]
    restricted = {
        shop: data.draw(st.lists(st.sampled_from(whs), min_size=1, max_size=3, unique=True))
        for shop, _ in SHOPS
        if data.draw(st.booleans())
    }
    rules: list[dict[str, Any]] = [{"type": "equal_split"}]
    if data.draw(st.booleans()):
        rules.append({"type": "shared_pool", "shops": ["A", "B"]})
    if data.draw(st.booleans()):
        rules.append({"type": "virtual_stock", "quantity": data.draw(st.integers(1, 5))})
    if data.draw(st.booleans()):
        rules.append(
            {
                "type": "fixed",
                "quantities": {"C": data.draw(st.integers(0, 9))},
                "best_effort": True,
            }
        )
    snap = snapshot_data(
        pools={s: 0 for s in skus},
        shops=SHOPS,
        warehouses=WAREHOUSES,
        stock=stock,
        restricted=restricted,
    )
    with pytest.MonkeyPatch.context() as mp:
        compile_comparing(mp, snap, {"rules": rules})


@pytest.mark.parametrize(("skus", "seed"), [(400, 1), (2000, 11), (3000, 5)])
def test_demo_stack_gives_the_loops_rows(
    monkeypatch: pytest.MonkeyPatch, skus: int, seed: int
) -> None:
    snap, rules = build_demo(seed=seed, skus=skus)
    assert compile_comparing(monkeypatch, snap, rules) > 0
