"""`omnistock plan`'s printed summary sums its columns by array: the same totals, in
the same order, as a loop over the rows."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from engine.cli.plan import _per_shop, _units_by_reason

_REASONS = st.sampled_from(
    ["no stock", "kept (safety 3)", "kept (safety 5)", "kept", "pack size", "kept(x)"]
)


@given(st.lists(st.tuples(_REASONS, st.integers(0, 10**9)), max_size=30))
def test_units_by_reason_as_the_rows_add_up(rows: list[tuple[str, int]]) -> None:
    unallocated: list[dict[str, Any]] = [
        {"sku": "S", "reason": why, "quantity": n} for why, n in rows
    ]
    expected: dict[str, int] = defaultdict(int)
    for why, n in rows:
        expected[why.split(" (")[0] if why.startswith("kept") else why] += n
    got = _units_by_reason(unallocated)
    assert list(got.items()) == list(expected.items())


@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 10**6), st.booleans()),
        max_size=30,
    )
)
def test_per_shop_rows_and_columns_agree(cells: list[tuple[str, int, bool]]) -> None:
    rows: list[dict[str, Any]] = [
        {"shop": shop, "quantity": n, "shared": n // 2, "listed": listed}
        for shop, n, listed in cells
    ]
    columns = {k: [r[k] for r in rows] for k in ("shop", "quantity", "shared", "listed")}
    by_rows, by_columns = _per_shop(rows), _per_shop(columns)
    shops = sorted({shop for shop, _, _ in cells})
    assert by_rows.row_count == by_columns.row_count == len(shops)
    for column_rows, column_cols in zip(by_rows.columns, by_columns.columns, strict=True):
        assert [str(c) for c in column_rows.cells] == [str(c) for c in column_cols.cells]
    quantity = {shop: sum(n for s, n, _ in cells if s == shop) for shop in shops}
    assert [str(c) for c in by_columns.columns[1].cells] == [f"{quantity[s]:,}" for s in shops]
