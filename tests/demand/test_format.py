"""The snapshot's `history` section: every fault named by its path, old snapshots read
and hashed as before, and the rows laid out as [cells, days] with the right days."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from engine.core.errors import InputError
from engine.core.index import SnapshotIndex
from engine.core.io import parse_snapshot, parse_snapshot_columns
from engine.planning.planner import columns_hash, input_hash
from rules.load import parse_ruleset
from tests.helpers import snapshot_data

# tests/helpers.py: as_of 2026-11-11 (+08:00), so the last day a row may hold is 11-10.
BASE = snapshot_data(pools={"S": 10, "T": 4}, velocity={("S", "A"): 1.0})


def with_history(*rows: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    data["history"] = list(rows)
    return data


def row(**fields: Any) -> dict[str, Any]:
    return {"sku": "S", "shop": "B", "start": "2026-11-08", "units": [1, 0, 2]} | fields


def issues_of(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InputError) as caught:
        parse_snapshot(data)
    slow = {i.path: i.message for i in caught.value.issues}
    # The columns reader reports the same faults (the model reads what it refuses).
    with pytest.raises(InputError) as again:
        parse_snapshot_columns(data)
    assert {i.path: i.message for i in again.value.issues} == slow
    return slow


@pytest.mark.parametrize(
    ("fault", "path", "words"),
    [
        (row(units=[1, -2, 3]), "history[0].units[1]", "greater than or equal to 0"),
        (row(units=[1, True, 3]), "history[0].units[1]", "whole number"),
        (row(units=[]), "history[0].units", "at least 1"),
        (row(units=[0] * 367, start="2025-11-08"), "history[0].units", "at most 366"),
        (row(listed=[1, 2]), "history[0].listed", "has 2 days but units has 3"),
        (row(out_of_stock=[False, 1, False]), "history[0].out_of_stock[1]", "boolean"),
        (row(out_of_stock=[False]), "history[0].out_of_stock", "has 1 days"),
        (row(start="2026-11-09"), "history[0].units", "not before as_of 2026-11-11"),
        (row(start="2025-11-09", units=[1]), "history[0].start", "more than 366 days"),
        (row(start="11/08/2026"), "history[0].start", "date"),
        (row(sku="X"), "history[0].sku", "unknown SKU 'X'"),
        (row(shop="Z"), "history[0].shop", "unknown shop 'Z'"),
        (row(extra=1), "history[0].extra", "unknown field"),
    ],
)
def test_a_fault_is_named_by_its_path(fault: dict[str, Any], path: str, words: str) -> None:
    found = issues_of(with_history(fault))
    assert path in found, found
    assert words in found[path]


def test_duplicate_rows_and_brand_mismatch_are_named() -> None:
    data = with_history(row(), row(units=[5]))
    data["brands"].append({"id": "c", "name": "Other"})
    data["shops"].append({"id": "D", "brand": "c", "platform": "jd"})
    data["history"].append(row(shop="D"))
    found = issues_of(data)
    assert "duplicate row for SKU 'S' on shop 'B' (first at history[0])" in found["history[1]"]
    assert "shop 'D' is of brand 'c' but SKU 'S' is of brand 'b'" in found["history[2].shop"]


def test_a_snapshot_without_history_hashes_as_before() -> None:
    ruleset = parse_ruleset({"rules": []})
    snap = parse_snapshot(BASE)
    assert "history" not in snap.model_dump(mode="json")
    # An empty section is no section: same hash; any row changes it.
    digest = input_hash(snap, ruleset, "normal")
    assert input_hash(parse_snapshot(with_history()), ruleset, "normal") == digest
    assert columns_hash(parse_snapshot_columns(BASE), ruleset, "normal") == digest
    with_rows = with_history(row())
    changed = input_hash(parse_snapshot(with_rows), ruleset, "normal")
    assert changed != digest
    assert columns_hash(parse_snapshot_columns(with_rows), ruleset, "normal") == changed


def test_rows_become_cell_day_arrays() -> None:
    data = with_history(
        row(start="2026-11-06", units=[4, 1, 0, 3, 2], listed=[9, 1, 0, 9, 9]),
        row(sku="T", shop="A", start="2026-11-02", units=[0, 2], out_of_stock=[True, False]),
    )
    for index in (
        SnapshotIndex.build(parse_snapshot(data)),
        SnapshotIndex.of_columns(parse_snapshot_columns(data)),
    ):
        history = index.history
        assert history is not None
        # Oldest row starts 11-02: nine days up to 11-10, the day before as_of.
        assert history.n_days == 9
        s_b = index.cells_of(np.array([index.sku_pos["S"]]), np.array([index.shop_pos["B"]]))[0]
        t_a = index.cells_of(np.array([index.sku_pos["T"]]), np.array([index.shop_pos["A"]]))[0]
        assert history.units[s_b].tolist() == [0, 0, 0, 0, 4, 1, 0, 3, 2]
        # Sold out where sales reached the listing (1 of 1, 0 of 0); days before the row
        # are censored at 0 (no information).
        assert history.censored[s_b].tolist() == [1, 1, 1, 1, 0, 1, 1, 0, 0]
        assert history.units[t_a].tolist() == [0, 2, 0, 0, 0, 0, 0, 0, 0]
        assert history.censored[t_a].tolist() == [1, 0, 1, 1, 1, 1, 1, 1, 1]
        assert history.covered[[s_b, t_a]].tolist() == [5, 2]
        others = np.setdiff1d(np.arange(index.n_cells), [s_b, t_a])
        assert history.censored[others].all() and not history.units[others].any()
        assert history.covered[others].tolist() == [0] * others.size


def test_no_history_no_arrays() -> None:
    index = SnapshotIndex.of_columns(parse_snapshot_columns(BASE))
    assert index.history is None
    assert np.isinf(index.dispersion).all()
    assert index.velocity_given.tolist() == [
        (index.sku_ids[s], index.shop_ids[h]) == ("S", "A")
        for s, h in zip(index.cell_sku, index.cell_shop, strict=True)
    ]


def test_the_schema_keeps_every_field() -> None:
    # The OpenAPI documents describe snapshots by this schema, in both directions.
    from engine.core.snapshot import Snapshot

    for mode in ("validation", "serialization"):
        properties = Snapshot.model_json_schema(mode=mode)["properties"]
        assert {"stock", "velocity", "listed", "history"} <= set(properties), mode


@pytest.mark.parametrize(
    ("as_of", "start", "path", "words"),
    [
        # A year before as_of is before the calendar starts: no issue of its own.
        ("0001-01-05T00:00:00Z", "0001-01-03", "history[0].units", "not before as_of"),
        # The row's last day is past the calendar's end.
        ("9999-12-31T00:00:00Z", "9999-12-30", "history[0].units", "after 9999-12-31"),
    ],
)
def test_days_at_the_calendars_ends_are_told_not_raised(
    as_of: str, start: str, path: str, words: str
) -> None:
    """Found by fuzzing the API (a 500): as_of in year 1 overflowed the date a year
    earlier, and a row ending after 9999-12-31 its last day."""
    data = with_history(row(start=start))
    data["as_of"] = as_of
    found = issues_of(data)
    assert words in found[path], found
