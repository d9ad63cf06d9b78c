"""A plan's allocations kept as a table (engine/core/allocation_table.py): its slices are
its rows', its sums per shop theirs, and a plan holding it is written byte for byte as
the plan holding its rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from unittest.mock import patch

import numpy as np
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.core import plan_files
from engine.core.allocation_table import FIELDS, AllocationTable
from engine.core.index import SnapshotIndex
from engine.core.io import parse_snapshot_columns
from engine.core.plan_files import (
    ALLOCATION_FIELDS,
    _without_allocations,
    allocation_rows,
    plan_head,
    plan_json,
    write_plan_json,
    write_plan_parquet,
)
from engine.demo import build_demo
from engine.planning.planner import plan_document
from rules.load import parse_ruleset


def _table(seed: int, cells: int, skus: int = 7, shops: int = 3) -> AllocationTable:
    rng = np.random.default_rng(seed)
    lists = [[], ["r-a"], ["r-a", 'r-\u00e9"b'], ["cap"]]
    return AllocationTable(
        sku_ids=[f"S{i}\\{i}" for i in range(skus)],
        shop_ids=[f"shop-{j}" for j in range(shops)][::-1],
        cell_sku=np.sort(rng.integers(0, skus, cells)),
        cell_shop=rng.integers(0, shops, cells),
        quantity=rng.integers(0, 5, cells),
        shared=rng.integers(0, 2, cells) * rng.integers(0, 9, cells),
        binding=rng.integers(0, len(lists), cells),
        binding_lists=lists,
        target=rng.integers(0, 9, cells),
        lb=rng.integers(0, 3, cells),
        ub=rng.integers(0, 99, cells),
    )


def _document(table: Any, others: int = 3) -> dict[str, Any]:
    return {
        "plan_id": "plan-x",
        "timing": {"compile_s": 0.25},
        "allocations": table,
        "unallocated": [{"sku": f"S{i}", "quantity": i, "reason": "kept"} for i in range(others)],
        "kpis": {"utilisation": 1e-05},
        "skus": [{"sku": f"S{i}", "reserved": {"r": i}} for i in range(others)],
    }


def _rows_document(table: AllocationTable, others: int = 3) -> dict[str, Any]:
    return _document(allocation_rows(table.columns()), others)


def test_the_tables_fields_are_the_allocations() -> None:
    assert FIELDS == ALLOCATION_FIELDS


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**16), cells=st.integers(0, 40), start=st.integers(0, 45))
def test_a_slice_of_the_table_is_the_slice_of_its_columns(
    seed: int, cells: int, start: int
) -> None:
    table = _table(seed, cells)
    whole = table.columns()
    part = table.columns(start, start + 7)
    assert part == {name: values[start : start + 7] for name, values in whole.items()}
    assert whole["listed"] == [
        q + s > 0 for q, s in zip(whole["quantity"], whole["shared"], strict=True)
    ]


def test_sums_per_shop_are_those_of_the_rows() -> None:
    table = _table(3, 500)
    shops, units, shared, listed = table.per_shop()
    rows = allocation_rows(table.columns())
    assert shops == sorted({r["shop"] for r in rows})
    for shop, u, s, n in zip(shops, units, shared, listed, strict=True):
        mine = [r for r in rows if r["shop"] == shop]
        assert (u, s, n) == (
            sum(r["quantity"] for r in mine),
            sum(r["shared"] for r in mine),
            sum(r["listed"] for r in mine),
        )


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16), cells=st.integers(0, 30), chunk=st.integers(1, 7))
def test_a_table_is_written_as_its_rows(seed: int, cells: int, chunk: int) -> None:
    # Small pieces, so that rows cross the writer's piece boundaries.
    table = _table(seed, cells)
    with patch.object(plan_files, "_ROWS_AT_ONCE", chunk):
        assert plan_json(_document(table)) == plan_json(_rows_document(table))


def test_a_planned_table_is_written_as_the_planned_rows(tmp_path: Path) -> None:
    snapshot, rules = build_demo(seed=3, skus=100)
    columns, ruleset = parse_snapshot_columns(snapshot), parse_ruleset(rules)
    index = SnapshotIndex.of_columns(columns)
    as_table = plan_document(index, ruleset, columns.mode, "0" * 64, columnar=True)
    as_rows = plan_document(index, ruleset, columns.mode, "0" * 64)
    assert isinstance(as_table["allocations"], AllocationTable)
    as_table["timing"] = as_rows["timing"]
    write_plan_json(as_table, tmp_path / "plan.json")
    assert (tmp_path / "plan.json").read_bytes() == plan_json(as_rows)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**16), cells=st.integers(0, 40))
def test_a_table_is_written_to_parquet_as_its_rows(tmp_path: Path, seed: int, cells: int) -> None:
    # Arrow arrays by code into the distinct values: read back, the rows' table.
    table = _table(seed, cells)
    from_table, from_rows = tmp_path / f"t-{seed}-{cells}.parquet", tmp_path / f"r-{seed}.parquet"
    write_plan_parquet(_document(table), from_table)
    write_plan_parquet(_rows_document(table), from_rows)
    read = [pq.read_table(path) for path in (from_table, from_rows)]
    assert read[0].schema == read[1].schema and read[0].equals(read[1])
    assert plan_head(from_table) == plan_head(from_rows) == _without_allocations(_document(table))
    assert plan_files._read_plan_parquet(from_table) == plan_files._read_plan_parquet(from_rows)
