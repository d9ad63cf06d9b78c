"""Allocations written from columns are the bytes of the same rows written by orjson,
whatever mix of values a column holds (True == 1 to Python, not to JSON)."""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.core import plan_files
from engine.core.plan_files import allocation_rows, plan_json

_VALUES = st.one_of(
    st.booleans(),
    st.integers(-2, 2),
    st.none(),
    st.text(max_size=3),
    st.lists(st.integers(0, 1), max_size=2),
)


@settings(max_examples=80, deadline=None)
@given(
    rows=st.lists(st.lists(_VALUES, min_size=3, max_size=3), min_size=1, max_size=8),
    chunk=st.integers(1, 4),
)
def test_mixed_columns_are_written_as_their_rows(rows: list[list[Any]], chunk: int) -> None:
    by_name = {f"f{j}": list(column) for j, column in enumerate(zip(*rows, strict=True))}
    rows_doc = {"plan_id": "p", "allocations": allocation_rows(by_name)}
    with patch.object(plan_files, "_ROWS_AT_ONCE", chunk):
        written = plan_json({"plan_id": "p", "allocations": by_name})
    assert written == plan_json(rows_doc)
    assert orjson.loads(written)["allocations"] == rows_doc["allocations"]


def test_allocation_rows_dict_display_has_allocations_fields_in_order() -> None:
    """allocation_rows writes the planner's rows by a dict display: its keys and their
    order are Allocation's (a field added to the model without it would be dropped)."""
    from engine.core.plan_files import _ROW_DISPLAY_FIELDS, ALLOCATION_FIELDS

    assert _ROW_DISPLAY_FIELDS == ALLOCATION_FIELDS
    columns = {name: [f"{name}{i}" for i in range(3)] for name in ALLOCATION_FIELDS}
    rows = allocation_rows(columns)
    assert [list(row) for row in rows] == [list(ALLOCATION_FIELDS)] * 3
    assert [row["lb"] for row in rows] == ["lb0", "lb1", "lb2"]
    # Any other set of columns is still turned into rows in its own order.
    assert allocation_rows({"b": [1], "a": [2]}) == [{"b": 1, "a": 2}]
