"""A plan's unallocated rows and SKU pools kept as arrays (engine/core/plan_tables.py):
written byte for byte as their rows (engine/core/table_json.py), in every plan file."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from unittest.mock import patch

import numpy as np
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.core import plan_files
from engine.core.plan_files import plan_head, plan_json, write_plan_ndjson, write_plan_parquet
from engine.core.plan_tables import PoolTable, UnallocatedTable
from engine.core.table_json import _between, _joined

# Ids as users write them, and ones orjson must escape (quotes, backslashes, controls).
_IDS = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=6)
_PLAIN_IDS = st.text("AB-1é中", min_size=1, max_size=6)
# Numbers of units, and now and then one far past the rows (looked up by distinct value).
_UNITS = st.one_of(st.integers(0, 40), st.integers(-5, 10**9))


@st.composite
def unallocated_tables(draw: st.DrawFn) -> UnallocatedTable:
    ids = draw(st.lists(st.one_of(_PLAIN_IDS, _IDS), min_size=1, max_size=6, unique=True))
    reasons = draw(st.lists(st.one_of(_PLAIN_IDS, _IDS), min_size=1, max_size=4, unique=True))
    rows = draw(st.integers(0, 25))
    return UnallocatedTable(
        sku_ids=ids,
        sku=np.array(draw(st.lists(st.integers(0, len(ids) - 1), min_size=rows, max_size=rows))),
        quantity=np.array(draw(st.lists(_UNITS, min_size=rows, max_size=rows)), dtype=np.int64),
        reason=np.array(
            draw(st.lists(st.integers(0, len(reasons) - 1), min_size=rows, max_size=rows))
        ),
        reasons=reasons,
    )


@st.composite
def pool_tables(draw: st.DrawFn, unique_labels: bool = True) -> PoolTable:
    ids = draw(st.lists(st.one_of(_PLAIN_IDS, _IDS), max_size=12, unique=True))
    n = len(ids)

    def column() -> np.ndarray:
        return np.array(draw(st.lists(_UNITS, min_size=n, max_size=n)), dtype=np.int64)

    labels = draw(st.lists(_PLAIN_IDS, max_size=4, unique=unique_labels))
    shares = draw(st.lists(st.one_of(st.none(), _IDS), min_size=1, max_size=3))
    codes = draw(st.lists(st.integers(0, len(shares) - 1), min_size=n, max_size=n))
    return PoolTable(
        sku_ids=ids,
        sellable=column(),
        reserved=[(label, column()) for label in labels],
        virtual=column(),
        pool=column(),
        share_rule=np.array(codes, dtype=np.int64),
        share_labels=shares,
    )


def _documents(reasons: UnallocatedTable, pools: PoolTable) -> tuple[dict[str, Any], ...]:
    def document(unallocated: Any, skus: Any) -> dict[str, Any]:
        return {
            "plan_id": "plan-x",
            "allocations": [],
            "unallocated": unallocated,
            "kpis": {"utilisation": 0.5},
            "skus": skus,
        }

    return document(reasons, pools), document(reasons.rows(), pools.rows())


@settings(max_examples=150, deadline=None)
@given(reasons=unallocated_tables(), pools=pool_tables(), chunk=st.integers(1, 5))
def test_tables_are_written_as_their_rows(
    reasons: UnallocatedTable, pools: PoolTable, chunk: int
) -> None:
    # Small pieces, so that rows cross the writer's piece boundaries.
    tables, rows = _documents(reasons, pools)
    with patch.object(plan_files, "_ROWS_AT_ONCE", chunk):
        assert plan_json(tables) == plan_json(rows)
    assert orjson.loads(plan_json(tables))["skus"] == pools.rows()


@settings(max_examples=60, deadline=None)
@given(pools=pool_tables(unique_labels=False))
def test_a_label_two_reserve_rules_share_keeps_its_first_place_and_last_units(
    pools: PoolTable,
) -> None:
    expected: list[dict[str, int]] = [{} for _ in pools.sku_ids]
    for label, units in pools.reserved:
        for i, v in enumerate(units.tolist()):
            if v > 0:
                expected[i][label] = v
    rows = pools.rows()
    assert [list(r["reserved"].items()) for r in rows] == [list(e.items()) for e in expected]
    none = UnallocatedTable(["S"], *(np.zeros(0, dtype=np.int64),) * 3, reasons=["r"])
    tables, as_rows = _documents(none, pools)
    assert plan_json(tables) == plan_json(as_rows)


@settings(max_examples=60, deadline=None)
@given(reasons=unallocated_tables())
def test_units_by_reason_in_the_order_reasons_first_appear(reasons: UnallocatedTable) -> None:
    expected: dict[str, int] = {}
    for row in reasons.rows():
        expected[row["reason"]] = expected.get(row["reason"], 0) + row["quantity"]
    assert list(reasons.units_by_reason().items()) == list(expected.items())
    assert reasons.units() == sum(expected.values())


@settings(max_examples=200, deadline=None)
@given(ids=st.lists(st.one_of(_PLAIN_IDS, _IDS), max_size=8))
def test_ids_between_the_layout_are_orjsons_strings(ids: list[str]) -> None:
    expected = [b"<" + orjson.dumps(i) + b">" for i in ids]
    assert _between(ids, b"<", b">") == expected
    # Ids that need no escape take the joined path, the others are left to orjson.
    plain = all(orjson.dumps(i) == b'"' + i.encode() + b'"' for i in ids)
    assert (
        (_joined(ids, b"<", b">") == expected)
        if plain and ids
        else _joined(ids, b"<", b">") is None
    )


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(reasons=unallocated_tables(), pools=pool_tables())
def test_columnar_plan_files_hold_the_rows(
    tmp_path: Path, reasons: UnallocatedTable, pools: PoolTable
) -> None:
    tables, rows = _documents(reasons, pools)
    for suffix, write in ((".parquet", write_plan_parquet), (".ndjson", write_plan_ndjson)):
        written = [tmp_path / f"tables{suffix}", tmp_path / f"rows{suffix}"]
        write(tables, written[0])
        write(rows, written[1])
        assert written[0].read_bytes() == written[1].read_bytes()
        assert plan_head(written[0])["unallocated"] == reasons.rows()
