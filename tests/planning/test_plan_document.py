"""Plans built from arrays and written by orjson are the bytes the model-per-cell
assembly wrote (tests/planning/reference_plan.py), except `timing`; snapshots read as
columns give the model's index, input hash and errors."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.core import plan_files
from engine.core.columns import BUCKETS, SnapshotColumns, columns_of_document
from engine.core.errors import InputError
from engine.core.index import SnapshotIndex
from engine.core.io import (
    dump_json,
    load_plan,
    parse_snapshot,
    parse_snapshot_columns,
    read_document,
)
from engine.core.plan import Plan
from engine.core.plan_files import (
    allocation_rows,
    plan_head,
    plan_json,
    write_plan_json,
    write_plan_ndjson,
    write_plan_parquet,
)
from engine.demo import build_demo
from engine.planning.planner import (
    _assemble,
    _row_keys,
    columns_hash,
    input_hash,
    make_plan,
    run_planner,
)
from rules.load import parse_ruleset
from tests.helpers import snapshot_data
from tests.planning.reference_plan import reference_input_hash, reference_plan


def _both(snapshot: dict[str, Any], rules: dict[str, Any]) -> tuple[bytes, bytes]:
    """The reference plan's bytes and the array assembly's, from one solve."""
    snap, ruleset = parse_snapshot(snapshot), parse_ruleset(rules)
    columns = parse_snapshot_columns(snapshot)
    digest = reference_input_hash(snap, ruleset, snap.mode)
    assert input_hash(snap, ruleset, snap.mode) == digest
    assert columns_hash(columns, ruleset, snap.mode) == digest
    outcome = run_planner(SnapshotIndex.of_columns(columns), ruleset, snap.mode)
    old = reference_plan(outcome.compiled, outcome.solved, outcome.second, ruleset, digest)
    new = _assemble(outcome.compiled, outcome.solved, outcome.second, ruleset, digest)
    by_column = _assemble(outcome.compiled, outcome.solved, outcome.second, ruleset, digest, True)
    old.timing = new["timing"] = by_column["timing"] = {"compile_s": 0.5, "solve_s": 1e-05}
    # Allocations as rows or as columns: the same bytes.
    assert plan_json(by_column) == plan_json(new)
    return dump_json(old).encode(), plan_json(new)


@pytest.mark.parametrize(("seed", "skus"), [(11, 100), (3, 240), (7, 500)])
def test_demo_plans_are_byte_identical(seed: int, skus: int) -> None:
    old, new = _both(*build_demo(seed, skus))
    assert new == old


RULES = [
    {"id": "keep", "type": "safety_stock", "quantity": 2},
    {"id": "fix", "type": "fixed", "quantities": {"A": 3}, "best_effort": True},
    {"id": "cap", "type": "max_cap", "quantities": {"B": 4}},
    {"id": "split", "type": "percentage", "shares": {"A": 0.5, "B": 0.3, "C": 0.2}},
]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pools=st.lists(st.integers(0, 40), min_size=1, max_size=6),
    speeds=st.lists(
        st.sampled_from([0.0, 1e-05, 3.2e-07, 0.5, 2.0, 1e-4, 999999.0]), min_size=3, max_size=18
    ),
    picked=st.sets(st.integers(0, len(RULES) - 1), max_size=3),
)
def test_random_plans_are_byte_identical(
    pools: list[int], speeds: list[float], picked: set[int]
) -> None:
    rules = [RULES[k] for k in sorted(picked)]
    skus = {f"S{i}": units for i, units in enumerate(pools)}
    cells = [(sku, shop) for sku in skus for shop in ("A", "B", "C")]
    velocity = dict(zip(cells, speeds, strict=False))
    old, new = _both(snapshot_data(pools=skus, velocity=velocity), {"rules": rules})
    assert new == old


def test_make_plan_is_the_document_as_a_model() -> None:
    snapshot, rules = build_demo(5, 150)
    plan = make_plan(parse_snapshot(snapshot), parse_ruleset(rules))
    ruleset = parse_ruleset(rules)
    columns = parse_snapshot_columns(snapshot)
    assert plan.input_hash == columns_hash(columns, ruleset, columns.mode)
    assert len(plan.allocations) == plan.kpis.cells


def _index_arrays(index: SnapshotIndex) -> dict[str, Any]:
    return {
        name: value.tolist() if isinstance(value, np.ndarray) else value
        for name, value in vars(index).items()
        if name not in ("stock", "sku_tags", "bundle_rows")
    } | {
        "stock": {b: v.tolist() for b, v in index.stock.items()},
        "tags": {t: m.tolist() for t, m in index.sku_tags.items()},
        "bundles": [a.tolist() for a in index.bundle_rows],
    }


def test_columns_give_the_models_index() -> None:
    snapshot, _ = build_demo(2, 300)
    fast = columns_of_document(snapshot)
    assert fast is not None and fast.dumped is not None
    model = SnapshotColumns.of_snapshot(parse_snapshot(snapshot))
    assert _index_arrays(SnapshotIndex.of_columns(fast)) == _index_arrays(
        SnapshotIndex.of_columns(model)
    )
    assert fast.snapshot() == parse_snapshot(snapshot)


# Faults the quick checks must leave to the model, each at a path the model names.
FAULTS: list[tuple[str, Any]] = [
    ("stock.0.on_hand", -1),
    ("stock.0.on_hand", True),
    ("stock.0.on_hand", 1.0),
    ("stock.0.on_hand", 10**30),
    ("stock.0.locked", "3"),
    ("stock.0.sku", "nope"),
    ("stock.0.sku", ""),
    ("stock.0.warehouse", ["W1"]),
    ("listed.0.sku", 5),
    ("velocity.0.sku", None),
    ("stock.0.extra", 1),
    ("velocity.0.units_per_day", float("inf")),
    ("velocity.0.units_per_day", -0.5),
    ("velocity.0.units_per_day", False),
    ("velocity.0.shop", "nope"),
    ("listed.0.quantity", -2),
    ("skus.0.price", "1.005"),
    ("skus.0.price", 1.5),
    ("skus.0.price", True),
    ("skus.0.price", "99999999999"),
    ("skus.0.tags", ["ok", 3]),
    ("skus.0.category", None),
    ("skus.1.id", "S0"),
    ("skus.0.brand", "other"),
    ("skus.0.components", [{"sku": "S0", "qty": 1}]),
    ("skus.0.components", [{"sku": "S1", "qty": 0}]),
    ("skus.0.components", [{"sku": "S1", "qty": 1}, {"sku": "S1", "qty": 2}]),
    ("shops.0.priority", -1),
    ("as_of", "2026-11-11T00:00:00"),
]


def _set(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    *parents, last = path.split(".")
    node: Any = doc
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    node[int(last) if last.isdigit() else last] = value
    return doc


def _sample() -> dict[str, Any]:
    return snapshot_data(
        pools={"S0": 5, "S1": 3, "S2": 0},
        velocity={("S0", "A"): 1.0, ("S1", "B"): 0.25},
        listed={("S0", "A"): 2},
    )


@pytest.mark.parametrize(("path", "value"), FAULTS)
def test_faults_get_the_models_errors(path: str, value: Any) -> None:
    doc = _set(_sample(), path, value)
    assert columns_of_document(doc) is None
    with pytest.raises(InputError) as expected:
        parse_snapshot(doc, "s.json")
    with pytest.raises(InputError) as got:
        parse_snapshot_columns(doc, "s.json")
    assert str(got.value) == str(expected.value)


def test_a_document_the_quick_checks_doubt_is_read_by_the_model() -> None:
    # A bundle of a bundle is refused by both; a velocity given as an int is taken by
    # both, the same: 2 is 2.0.
    doc = _set(_sample(), "velocity.0.units_per_day", 2)
    fast = columns_of_document(doc)
    assert fast is not None
    ruleset = parse_ruleset({"rules": []})
    model = parse_snapshot(doc)
    assert columns_hash(fast, ruleset, "normal") == reference_input_hash(model, ruleset, "normal")


def test_repeated_json_keys_are_found_by_the_fast_parser(tmp_path: Path) -> None:
    doc = json.dumps(_sample())
    cases = {
        "clean.json": (doc, None),
        "colons.json": (doc.replace('"Brand"', '"a: b:: c"'), None),
        "repeat.json": (doc.replace('"id": "b",', '"id": "b", "id": "b",', 1), "duplicate key"),
        "escaped.json": (doc.replace('"Brand"', '"a\\u003ab"'), None),
        "bom.json": ("\ufeff" + doc, None),
    }
    for name, (text, problem) in cases.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        if problem is None:
            assert read_document(path) == json.loads(text.lstrip("\ufeff")), name
        else:
            with pytest.raises(InputError, match=problem):
                read_document(path)


@pytest.mark.parametrize("suffix", [".json", ".parquet", ".ndjson"])
def test_plan_files_read_back_as_the_plan(tmp_path: Path, suffix: str) -> None:
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    snapshot, rules = build_demo(4, 120)
    plan = make_plan(parse_snapshot(snapshot), parse_ruleset(rules))
    document = plan.model_dump()
    writer = {".json": write_plan_json, ".parquet": write_plan_parquet}.get(
        suffix, write_plan_ndjson
    )
    writer(document, tmp_path / f"plan{suffix}")
    assert load_plan(tmp_path / f"plan{suffix}") == Plan.model_validate(document)
    head = Plan.model_validate(document).model_dump(exclude={"allocations"})
    assert plan_head(tmp_path / f"plan{suffix}") == head


_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=6)  # quotes, \\, \u2028...


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(_TEXT, st.integers(0, 2**62), st.booleans(), st.integers(0, 3)),
        max_size=12,
    ),
    labels=st.lists(st.lists(_TEXT, max_size=3), min_size=4, max_size=4),
    chunk=st.integers(1, 5),
)
def test_allocation_columns_are_written_as_their_rows(
    rows: list[tuple[str, int, bool, int]], labels: list[list[str]], chunk: int
) -> None:
    # Binding lists shared between rows, as the assembly shares them; small chunks so
    # that rows cross the writer's piece boundaries.
    columns: dict[str, list[Any]] = {
        "sku": [r[0] for r in rows],
        "quantity": [r[1] for r in rows],
        "listed": [r[2] for r in rows],
        "binding": [labels[r[3]] for r in rows],
    }
    rows_doc = {"plan_id": "p", "allocations": allocation_rows(columns)}
    with patch.object(plan_files, "_ROWS_AT_ONCE", chunk):
        assert plan_json({"plan_id": "p", "allocations": columns}) == plan_json(rows_doc)


@settings(max_examples=60, deadline=None)
@given(
    base=st.sampled_from([1, 2, 7, 2**16]),
    data=st.data(),
)
def test_row_keys_are_equal_exactly_for_equal_rows(base: int, data: st.DataObject) -> None:
    # base 2**16 with four digits takes the row-wise path (2**64 does not fit in 63 bits).
    rows = np.array(
        data.draw(st.lists(st.lists(st.integers(0, base - 1), min_size=4, max_size=4))),
        dtype=np.int64,
    ).reshape(-1, 4)
    keys = _row_keys(rows, base).tolist()
    for i in range(len(rows)):
        for j in range(len(rows)):
            assert (keys[i] == keys[j]) == bool(np.array_equal(rows[i], rows[j]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prices=st.lists(st.sampled_from(["10.00", "10", "0.5", 7, 0]), min_size=3, max_size=3),
    sku_fields=st.sets(st.sampled_from(["category", "tags", "components"])),
    full_stock=st.booleans(),
    speeds=st.lists(st.sampled_from([1.0, 2, 0.25, 0]), min_size=2, max_size=2),
)
def test_columns_hash_is_the_models_with_rows_complete_or_not(
    prices: list[Any], sku_fields: set[str], full_stock: bool, speeds: list[Any]
) -> None:
    # The columns reuse a document's rows for the hash where they are already what the
    # model writes (every field, prices in fixed point, float velocities), else rebuild.
    doc = snapshot_data(
        pools={"S0": 5, "S1": 3, "S2": 0},
        velocity={("S0", "A"): speeds[0], ("S1", "B"): speeds[1]},
        listed={("S0", "A"): 2},
    )
    extra = {"category": "socks", "tags": ["x"], "components": []}
    for sku, price in zip(doc["skus"], prices, strict=True):
        sku["price"] = price
        sku.update({k: extra[k] for k in sku_fields})
    if full_stock:
        doc["stock"] = [{b: 1 for b in BUCKETS} | r for r in doc["stock"]]
    fast = columns_of_document(doc)
    assert fast is not None
    ruleset = parse_ruleset({"rules": RULES})
    model = parse_snapshot(doc)
    assert columns_hash(fast, ruleset, "peak") == reference_input_hash(model, ruleset, "peak")
    assert fast.snapshot() == model
