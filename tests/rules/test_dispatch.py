"""The compile step's dispatch tables and declarations are complete: a rule type is one
class (rules/catalog.py), one handler in its stage's table, one test."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import BaseModel

from engine.core.index import SnapshotIndex
from rules.bounds import BOUNDS
from rules.catalog import RULE_TYPES, Kind, RuleBase
from rules.compile import compile_problem
from rules.load import parse_ruleset
from rules.post_rules import POST
from rules.references import WHAT
from rules.supply import PINS, RESERVES, SAFETY_UNITS
from rules.targets import SHARES, TARGETS
from tests.helpers import snapshot

STAGES = {"reserves": RESERVES, "pins": PINS, "bounds": BOUNDS, "targets": TARGETS}
# Kinds the compile step applies outside the stage tables: the pool itself (composition,
# excluded and scoped warehouses), velocities, bundles, shop-wide limits (couplings),
# which rules are in force (windows) and the mode (peak).
BUILT_IN = {
    Kind.COMPOSITION,
    Kind.EXCLUDE,
    Kind.WAREHOUSE_SCOPE,
    Kind.UPLIFT,
    Kind.BUNDLE,
    Kind.CAPACITY,
    Kind.BUDGET,
    Kind.WINDOW,
    Kind.PEAK,
}


def classes(kind: Kind) -> set[type[RuleBase]]:
    return {cls for cls in RULE_TYPES.values() if cls.kind is kind}


def test_every_kind_has_a_handler() -> None:
    staged = [kind for stage in STAGES.values() for kind in stage]
    post = {cls.kind for cls in POST}
    # Only safety stock is in two stages: a reserve, and a bound when it names a shop.
    assert {kind for kind in staged if staged.count(kind) > 1} == {Kind.SAFETY}
    assert set(staged) | post | BUILT_IN == set(Kind)


def test_every_class_of_a_dispatching_kind_has_its_handler() -> None:
    assert set(SHARES) == classes(Kind.SHARE)
    assert set(SAFETY_UNITS) == classes(Kind.SAFETY)
    assert len({cls.kind for cls in POST}) == len(POST)  # one class per post kind


@pytest.mark.parametrize("name", sorted(RULE_TYPES))
def test_declared_references_name_fields(name: str) -> None:
    cls = RULE_TYPES[name]
    for path, what in cls.refs.items():
        assert what in WHAT
        model: type[BaseModel] = cls
        *lists, last = path.split("[].")
        for head in lists:
            item = model.model_fields[head].annotation
            model = item.__args__[0]  # type: ignore[union-attr]  # list[Model]
        assert last in model.model_fields, f"{name}: {path}"


def test_share_entries_name_fields() -> None:
    for cls, share in SHARES.items():
        if share.shops is not None:
            assert share.shops.split("[].")[0] in cls.model_fields, cls


def test_provenance_is_read_only() -> None:
    snap = snapshot(pools={"S": 10, "T": 4})
    ruleset = parse_ruleset(
        {
            "rules": [
                {"id": "safety", "type": "safety_stock", "quantity": 2},
                {"id": "cap", "type": "max_cap", "quantities": {"A": 3}},
            ]
        }
    )
    compiled = compile_problem(SnapshotIndex.build(snap), ruleset, "normal")
    prov = compiled.provenance
    assert compiled.mode == "normal"
    assert not hasattr(compiled, "draft")
    assert prov.pool.tolist() == [8, 2] and prov.reserved[0].tolist() == [2, 2]
    for values in (prov.ub_rule, prov.pool, prov.reserved[0], prov.share_rule):
        assert not values.flags.writeable
        with pytest.raises(ValueError):
            values[0] = 1
    with pytest.raises(TypeError):
        prov.reserved[1] = np.zeros(2, dtype=np.int64)  # type: ignore[index]
