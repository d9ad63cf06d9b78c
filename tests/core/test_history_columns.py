"""A snapshot's `history` read as columns (engine/core/history_columns.py) against the
model: on random histories, valid and bent, the columns give the model's index arrays
and input hash where the model accepts, and the model's error, word for word, where it
refuses; a valid history in the model's own spelling never needs the model."""

from __future__ import annotations

import copy
import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.core.columns import (
    SnapshotColumns,
    columns_of_document,
    document_colons,
    snapshot_json,
)
from engine.core.errors import InputError
from engine.core.index import SnapshotIndex
from engine.core.io import (
    canonical_json,
    load_snapshot_columns,
    parse_snapshot,
    parse_snapshot_columns,
    read_document,
)
from engine.core.limits import MAX_UNITS
from engine.core.snapshot import MAX_HISTORY_DAYS, Snapshot
from engine.planning.planner import columns_hash, input_hash
from rules.load import parse_ruleset

AS_OF = date(2026, 11, 11)  # the date of BASE's as_of
BASE: dict[str, Any] = {
    "tenant": "test",
    "as_of": "2026-11-11T00:00:00+08:00",
    "brands": [{"id": "b", "name": "Brand"}, {"id": "c", "name": "Other"}],
    "warehouses": [{"id": "W1"}],
    "shops": [
        {"id": "A", "brand": "b", "platform": "tmall"},
        {"id": "B", "brand": "b", "platform": "jd"},
        {"id": "D", "brand": "c", "platform": "jd"},
    ],
    "skus": [
        {"id": "S", "brand": "b", "price": "10.00"},
        {"id": "T", "brand": "b", "price": "5.00"},
        {"id": "U", "brand": "c", "price": "1.00"},
    ],
    "stock": [{"sku": "S", "warehouse": "W1", "on_hand": 10}],
    "velocity": [{"sku": "S", "shop": "A", "units_per_day": 1.5}],
    "listed": [{"sku": "T", "shop": "B", "quantity": 2}],
}
CELLS = [("S", "A"), ("S", "B"), ("T", "A"), ("T", "B"), ("U", "D")]
RULES = parse_ruleset({"rules": []})

small_units = st.integers(0, 9) | st.sampled_from([0, MAX_UNITS])


@st.composite
def history_row(draw: st.DrawFn, sku: str, shop: str) -> dict[str, Any]:
    """A row the model accepts, in the model's spelling (its optional lists given,
    null or left out)."""
    days = draw(st.integers(1, 12) | st.sampled_from([MAX_HISTORY_DAYS]))
    back = draw(st.integers(days, MAX_HISTORY_DAYS))
    row: dict[str, Any] = {
        "sku": sku,
        "shop": shop,
        "start": (AS_OF - timedelta(days=back)).isoformat(),
        "units": _daily(draw, small_units, days),
    }
    for name, values in (("listed", small_units), ("out_of_stock", st.booleans())):
        given = draw(st.sampled_from(["list", "null", "absent"]))
        if given == "list":
            row[name] = _daily(draw, values, days)
        elif given == "null":
            row[name] = None
    return row


def _daily(draw: st.DrawFn, values: st.SearchStrategy[Any], days: int) -> list[Any]:
    """A value a day; a long row repeats a few days drawn (drawing each of a year's
    days costs Hypothesis a second)."""
    drawn = draw(st.lists(values, min_size=min(days, 12), max_size=min(days, 12)))
    return [drawn[day % len(drawn)] for day in range(days)]


@st.composite
def valid_documents(draw: st.DrawFn) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    cells = draw(st.lists(st.sampled_from(CELLS), unique=True, max_size=len(CELLS)))
    doc["history"] = [draw(history_row(sku, shop)) for sku, shop in cells]
    return doc


def _bend(row: dict[str, Any], draw: st.DrawFn) -> Any:
    """The row (a copy) with one fault, or with something only the model can judge."""
    row = copy.deepcopy(row)
    days = len(row["units"])
    bend = draw(st.sampled_from(BENDS))
    if bend == "unit":
        row["units"][draw(st.integers(0, days - 1))] = draw(st.sampled_from(ODD_NUMBERS))
    elif bend == "listed":
        row["listed"] = [0] * days
        row["listed"][draw(st.integers(0, days - 1))] = draw(st.sampled_from(ODD_NUMBERS))
    elif bend == "flag":
        row["out_of_stock"] = [False] * days
        row["out_of_stock"][draw(st.integers(0, days - 1))] = draw(st.sampled_from(ODD_FLAGS))
    elif bend == "length":
        name = draw(st.sampled_from(["listed", "out_of_stock", "units"]))
        row[name] = [0 if name != "out_of_stock" else False] * draw(st.sampled_from([0, days + 1]))
    elif bend == "start":
        row["start"] = draw(st.sampled_from(ODD_STARTS))
    elif bend == "back":
        back = draw(st.sampled_from([days - 1, MAX_HISTORY_DAYS + 1, 0, -3]))
        row["start"] = (AS_OF - timedelta(days=back)).isoformat()
    elif bend == "long":
        row["units"] = [0] * (MAX_HISTORY_DAYS + 1)
    elif bend == "cell":
        key = draw(st.sampled_from(["sku", "shop"]))
        row[key] = draw(st.sampled_from(["X", "", 5, None, ["S"], "U", "D"]))
    elif bend == "keys":
        if draw(st.booleans()):
            row["extra"] = 1
        else:
            del row[draw(st.sampled_from(sorted(row)))]
    elif bend == "shape":
        key = draw(st.sampled_from(["units", "listed", "out_of_stock"]))
        row[key] = draw(st.sampled_from([5, "x", {"a": 1}, [[1]], ()]))
    else:
        return draw(st.sampled_from([None, [], "row", 3]))
    return row


BENDS = ["unit", "listed", "flag", "length", "start", "back", "long", "cell", "keys", "shape"]
BENDS += ["not a row"]
# Floats and bools where ints belong (strict: True is no unit count), out of bounds,
# beyond 64 bits (orjson writes no such int), or no number at all.
ODD_NUMBERS: list[Any] = [-1, MAX_UNITS + 1, 2**63, 2**64, 1.0, 1.5, float("inf"), True, False]
ODD_NUMBERS += [None, "1", [1], {"n": 1}, np.int64(1)]
ODD_FLAGS: list[Any] = [0, 1, "true", None, 1.0, [True], np.bool_(True)]
ODD_STARTS: list[Any] = [
    "2026-8-1",
    "20260801",
    "2026-08-01T00:00:00",  # the model takes it: a datetime at midnight is a date
    "2026-08-01 ",
    "2026-02-30",
    "0000-01-01",
    "٢٠٢٦-٠٨-٠١",  # noqa: RUF001 - digits of another script
    "2026-W31-6",
    date(2026, 8, 1),  # as YAML reads an unquoted date: the model takes it
    datetime(2026, 8, 1),
    20000,
    True,
    None,
]


@st.composite
def bent_documents(draw: st.DrawFn) -> dict[str, Any]:
    doc = draw(valid_documents())
    rows: list[Any] = doc["history"]
    for _ in range(draw(st.integers(1, 2))):
        how = draw(st.sampled_from(["bend"] * 5 + ["repeat", "section"]))
        if rows and how == "bend":
            at = draw(st.integers(0, len(rows) - 1))
            if _bendable(rows[at]):
                rows[at] = _bend(rows[at], draw)
        elif rows and how == "repeat":
            rows.append(copy.deepcopy(draw(st.sampled_from(rows))))
        else:
            doc["history"] = draw(st.sampled_from([{}, "rows", None, []]))
            rows = []
    return doc


def _bendable(row: Any) -> bool:
    """A row bent before may have no list of units left to bend."""
    return isinstance(row, dict) and isinstance(row.get("units"), list) and bool(row["units"])


def _history_arrays(columns: SnapshotColumns) -> dict[str, list[Any]]:
    index = SnapshotIndex.of_columns(columns)
    rows, cells = columns.history, index.history
    if rows is None or cells is None:
        assert rows is None and cells is None
        return {}
    found = {name: getattr(rows, name).tolist() for name in vars(rows)}
    return found | {name: getattr(cells, name).tolist() for name in vars(cells)}


def _reference_rows(model: Snapshot) -> dict[str, list[Any]]:
    """`HistoryRows` of the model's rows, a row and a day at a time."""
    skus = [s.id for s in model.skus]
    shops = [s.id for s in model.shops]
    as_of = model.as_of.date()
    days = [
        (units, bool(r.out_of_stock and r.out_of_stock[d] or r.listed and units >= r.listed[d]))
        for r in model.history
        for d, units in enumerate(r.units)
    ]
    return {
        "sku": [skus.index(r.sku) for r in model.history],
        "shop": [shops.index(r.shop) for r in model.history],
        "days_back": [(as_of - r.start).days for r in model.history],
        "length": [len(r.units) for r in model.history],
        "units": [units for units, _ in days],
        "stockout": [out for _, out in days],
    }


def _same_as_the_model(doc: dict[str, Any]) -> SnapshotColumns | None:
    """Reads the document both ways: the columns (model-read where the quick checks
    refuse) and the model agree. The columns, or None where the model refuses."""
    try:
        model = parse_snapshot(copy.deepcopy(doc), "s.json")
    except InputError as refused:
        with pytest.raises(InputError) as got:
            parse_snapshot_columns(doc, "s.json")
        assert str(got.value) == str(refused)
        return None
    columns = parse_snapshot_columns(doc, "s.json")
    by_model = SnapshotColumns.of_snapshot(model)
    assert _history_arrays(columns) == _history_arrays(by_model)
    if model.history:
        assert columns.history is not None
        arrays = {name: getattr(columns.history, name).tolist() for name in vars(columns.history)}
        assert arrays == _reference_rows(model)
    assert snapshot_json(columns) == canonical_json(model.model_dump(mode="json")).encode()
    assert columns_hash(columns, RULES, "normal") == input_hash(model, RULES, "normal")
    if columns.dumped is not None:
        assert columns.snapshot() == model
    return columns


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=valid_documents())
def test_a_valid_history_reads_as_the_model_without_it(doc: dict[str, Any]) -> None:
    assert columns_of_document(doc) is not None
    columns = _same_as_the_model(doc)
    assert columns is not None and columns.dumped is not None
    assert (columns.history is None) == (not doc["history"])


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=bent_documents())
def test_a_bent_history_reads_or_fails_as_the_model(doc: dict[str, Any]) -> None:
    _same_as_the_model(doc)


def test_every_odd_value_reads_as_the_model() -> None:
    # Each odd value in each field, the model's refusals and its odd acceptances.
    refused, accepted_by_model = 0, 0
    rows = [dict(zip(("sku", "shop"), cell, strict=True)) for cell in CELLS]
    for value in ODD_NUMBERS + ODD_FLAGS + ODD_STARTS:
        for name in ("units", "out_of_stock", "start"):
            doc = copy.deepcopy(BASE)
            doc["history"] = [rows[0] | {"start": "2026-11-01", "units": [1, 2]}]
            if name == "start":
                doc["history"][0]["start"] = value
            else:
                doc["history"][0][name] = [value, 0 if name == "units" else False]
            quick = columns_of_document(doc) is not None
            accepted = _same_as_the_model(doc) is not None
            refused += not accepted
            accepted_by_model += accepted and not quick
    assert refused > 20 and accepted_by_model >= 2


@pytest.mark.parametrize(
    ("start", "quick"),
    [
        ("2026-08-01", True),
        (date(2026, 8, 1), True),  # YAML's date: the columns write it as the model does
        ("2026-08-01T00:00:00", False),  # the model's to read
    ],
)
def test_the_starts_the_model_takes(start: Any, quick: bool) -> None:
    doc = copy.deepcopy(BASE)
    doc["history"] = [{"sku": "S", "shop": "A", "start": start, "units": [1, 0, 4]}]
    assert (columns_of_document(doc) is not None) == quick
    columns = _same_as_the_model(doc)
    assert columns is not None and columns.history is not None
    assert columns.history.days_back.tolist() == [(AS_OF - date(2026, 8, 1)).days]


def test_listings_and_flags_censor_the_days_they_say() -> None:
    doc = copy.deepcopy(BASE)
    doc["history"] = [
        {"sku": "S", "shop": "A", "start": "2026-11-07", "units": [1, 3, 0, 2]}
        | {"listed": [5, 3, 0, 9], "out_of_stock": [False, False, False, True]},
        {"sku": "T", "shop": "B", "start": "2026-11-09", "units": [4, 4], "listed": None},
        {"sku": "U", "shop": "D", "start": "2026-11-08", "units": [0, 1, 0]}
        | {"out_of_stock": [True, False, False]},
    ]
    columns = _same_as_the_model(doc)
    assert columns is not None and columns.history is not None
    assert columns.dumped is not None and "history" in columns.dumped
    # S on A: sold all it listed on days 2 and 3, flagged on day 4; T on B gives
    # neither; U on D flagged on its first day.
    assert columns.history.stockout.tolist() == [False, True, True, True] + [False] * 2 + [
        True,
        False,
        False,
    ]


def test_the_hash_covers_the_history() -> None:
    doc = copy.deepcopy(BASE)
    doc["history"] = [{"sku": "S", "shop": "A", "start": "2026-11-09", "units": [1, 0]}]
    with_history = columns_of_document(doc)
    bumped = copy.deepcopy(doc)
    bumped["history"][0]["units"][1] = 1
    without = columns_of_document(BASE)
    empty = columns_of_document(BASE | {"history": []})
    assert with_history is not None and without is not None and empty is not None
    digests = {
        columns_hash(c, RULES, "normal")
        for c in (with_history, without, columns_of_document(bumped))
        if c is not None
    }
    assert len(digests) == 3
    # An empty history is written as none, as the model writes it.
    assert snapshot_json(empty) == snapshot_json(without)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=valid_documents(), data=st.data())
def test_a_history_file_reads_quickly_and_its_repeats_are_named(
    tmp_path_factory: pytest.TempPathFactory, doc: dict[str, Any], data: st.DataObject
) -> None:
    # The colons of the rows are counted, not written (`document_colons`): a count that
    # is right proves the text repeats no key, and a repeat in a history row is named.
    columns = columns_of_document(doc)
    assert columns is not None
    assert document_colons(doc, columns) == orjson.dumps(doc).count(b":")
    folder = tmp_path_factory.mktemp("history")
    clean = folder / "snapshot.json"
    clean.write_text(json.dumps(doc, indent=data.draw(st.sampled_from([None, 2]))))
    read = load_snapshot_columns(clean)
    assert read.dumped is not None and snapshot_json(read) == snapshot_json(columns)
    if not doc["history"]:
        return
    at = data.draw(st.integers(0, len(doc["history"]) - 1))
    key = data.draw(st.sampled_from(sorted(doc["history"][at])))
    repeated = folder / "repeat.json"
    repeated.write_text(_with_repeat(doc, at, key))
    with pytest.raises(InputError) as expected:
        read_document(repeated)
    with pytest.raises(InputError) as got:
        load_snapshot_columns(repeated)
    assert str(got.value) == str(expected.value)
    assert f"duplicate key {key!r}" in str(got.value)


def _with_repeat(doc: dict[str, Any], at: int, key: str) -> str:
    """The document's JSON with `key` of history row `at` given twice, first with 0."""
    marker = "@@row@@"
    held = copy.deepcopy(doc)
    row_text = json.dumps(held["history"][at])
    held["history"][at] = marker
    repeated = "{" + json.dumps(key) + ": 0, " + row_text[1:]
    return json.dumps(held).replace(json.dumps(marker), repeated)


def test_a_big_history_is_read_as_columns(tmp_path: Path) -> None:
    # 300 cells x 366 days: the quick path's arrays, and the model's, are the same.
    doc = copy.deepcopy(BASE)
    doc["skus"] += [{"id": f"K{i}", "brand": "b", "price": "1.00"} for i in range(150)]
    rng = np.random.default_rng(7)
    doc["history"] = [
        {
            "sku": f"K{i}",
            "shop": shop,
            "start": (AS_OF - timedelta(days=MAX_HISTORY_DAYS)).isoformat(),
            "units": rng.poisson(2.0, MAX_HISTORY_DAYS).tolist(),
            "listed": rng.integers(0, 4, MAX_HISTORY_DAYS).tolist() if i % 3 else None,
            "out_of_stock": (rng.random(MAX_HISTORY_DAYS) < 0.1).tolist() if i % 2 else None,
        }
        for i in range(150)
        for shop in ("A", "B")
    ]
    path = tmp_path / "snapshot.json"
    path.write_bytes(orjson.dumps(doc))
    read = load_snapshot_columns(path)
    assert read.dumped is not None and read.history is not None
    assert int(read.history.stockout.sum()) > 0
    model = Snapshot.model_validate(doc)
    assert _history_arrays(read) == _history_arrays(SnapshotColumns.of_snapshot(model))
    assert columns_hash(read, RULES, "normal") == input_hash(model, RULES, "normal")


def test_a_yaml_history_with_dates_reads_as_columns(tmp_path: Path) -> None:
    # YAML reads an unquoted 2026-11-01 as a date: the columns take it and write it as
    # the model does.
    doc = copy.deepcopy(BASE)
    doc["history"] = [
        {"sku": "S", "shop": "A", "start": "2026-11-01", "units": [1, 0, 2]},
        {"sku": "T", "shop": "B", "start": "2026-10-30", "units": [0, 4], "listed": [1, 4]},
    ]
    text = json.dumps(doc, indent=2).replace('"2026-11-01"', "2026-11-01")
    path = tmp_path / "snapshot.yaml"
    path.write_text(text.replace('"2026-10-30"', "2026-10-30"))
    parsed = read_document(path)
    assert isinstance(parsed["history"][0]["start"], date)
    read = load_snapshot_columns(path)
    assert read.dumped is not None and read.history is not None
    assert columns_hash(read, RULES, "normal") == columns_hash(
        parse_snapshot_columns(doc), RULES, "normal"
    )
    assert _same_as_the_model(parsed) is not None
