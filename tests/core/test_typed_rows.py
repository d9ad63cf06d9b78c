"""The typed-rows reader (engine/core/typed_rows.py, msgspec) accepts only documents the
column checks accept, with the same columns and input hash; whatever else it meets - a
wrong type, a bound, an unknown or repeated key, an escape - it leaves to them (None),
so the errors of a file stay the ones it always had."""

from __future__ import annotations

import copy
import json
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.core.columns import (
    BUCKETS,
    SnapshotColumns,
    canonical_bytes,
    columns_of_document,
    snapshot_json,
)
from engine.core.io import parse_snapshot
from engine.core.limits import MAX_UNITS
from engine.core.typed_rows import read_typed_columns
from engine.demo import build_demo
from engine.planning.planner import columns_hash, input_hash
from rules.load import parse_ruleset
from tests.core.test_snapshot_read import _demo, documents

ROW_SECTIONS = ("skus", "stock", "velocity", "listed")
# Values a field may be given wrongly (or rightly: 0 and "x" fit some fields).
ODD_VALUES = [
    None,
    -1,
    0,
    1.5,
    2.0,
    True,
    "",
    "x",
    "B1-0001",
    [],
    {},
    MAX_UNITS + 1,
    2**70,
    "1.005",
]


def _same(a: SnapshotColumns, b: SnapshotColumns) -> None:
    assert a.head == b.head
    assert a.sku_ids == b.sku_ids
    assert a.sku_category == b.sku_category
    assert a.sku_tags == b.sku_tags
    for x, y in [
        (a.sku_brand, b.sku_brand),
        (a.price_cents, b.price_cents),
        *zip(a.bundle_rows, b.bundle_rows, strict=True),
        *zip(a.stock_at, b.stock_at, strict=True),
        *zip(a.velocity, b.velocity, strict=True),
        *zip(a.listed, b.listed, strict=True),
        *((a.stock[k], b.stock[k]) for k in BUCKETS),
    ]:
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)
    assert snapshot_json(a) == snapshot_json(b)


def _text(doc: dict[str, Any], indent: int | None) -> bytes:
    return json.dumps(doc, indent=indent, ensure_ascii=False).encode()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=documents(), indent=st.sampled_from([None, 2]))
def test_a_valid_document_reads_as_the_column_checks_read_it(
    doc: dict[str, Any], indent: int | None
) -> None:
    text = _text(doc, indent)
    typed = read_typed_columns(text)
    expected = columns_of_document(orjson.loads(text))
    assert expected is not None
    texts = [c for s in doc["skus"] for c in [s.get("category", ""), *s.get("tags", [])]]
    if any(":" in t for t in texts):
        assert typed is None  # colons in strings: read the other way
        return
    assert typed is not None
    _same(typed, expected)


@st.composite
def broken(draw: st.DrawFn) -> dict[str, Any]:
    """A document with one to three fields of its rows changed, removed or added."""
    doc = copy.deepcopy(_demo())
    rows = [doc, doc["shops"][0], doc["brands"][0]]
    rows += [row for section in ROW_SECTIONS for row in doc[section][:5]]
    for _ in range(draw(st.integers(1, 3))):
        target = draw(st.sampled_from(rows))
        key = draw(st.sampled_from([*sorted(target), "extra", *BUCKETS]))
        if draw(st.integers(0, 4)) == 0:
            target.pop(key, None)
        else:
            target[key] = draw(st.sampled_from(ODD_VALUES))
    return doc


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=broken())
def test_a_changed_document_is_read_alike_or_left_to_the_column_checks(
    doc: dict[str, Any],
) -> None:
    text = _text(doc, None)
    typed = read_typed_columns(text)
    if typed is not None:
        expected = columns_of_document(orjson.loads(text))
        assert expected is not None
        _same(typed, expected)


def test_a_repeated_key_is_left_to_the_column_checks() -> None:
    doc = copy.deepcopy(_demo())
    text = _text(doc, None)
    assert read_typed_columns(text) is not None
    for section, field in [("stock", "on_hand"), ("skus", "price"), ("listed", "quantity")]:
        row = json.dumps(doc[section][0], ensure_ascii=False).encode()
        repeated = b"{" + json.dumps(field).encode() + b": 1, " + row[1:]
        assert row in text
        assert read_typed_columns(text.replace(row, repeated, 1)) is None
    repeated_section = text[:-1] + b', "listed": []}'
    assert read_typed_columns(repeated_section) is None


def test_an_escape_or_a_history_is_left_to_the_column_checks() -> None:
    doc = copy.deepcopy(_demo())
    doc["brands"][0]["name"] = "Caf\u00e9"
    assert read_typed_columns(_text(doc, None)) is not None
    assert read_typed_columns(json.dumps(doc).encode()) is None  # written as \\u00e9
    doc["history"] = [{"sku": doc["skus"][0]["id"], "shop": "x", "start": "2026-01-01"}]
    assert read_typed_columns(_text(doc, None)) is None


def test_the_input_hash_is_the_models() -> None:
    doc = copy.deepcopy(_demo())
    doc["velocity"][0]["units_per_day"] = 2  # an int: the model writes 2.0
    doc["skus"][0]["price"] = 39  # the model writes "39"
    doc["skus"][1]["price"] = "39.5"
    del doc["skus"][2]["tags"]
    typed = read_typed_columns(_text(doc, 2))
    assert typed is not None
    ruleset = parse_ruleset(build_demo(seed=4, skus=100)[1])
    model = parse_snapshot(doc)
    assert columns_hash(typed, ruleset, "peak") == input_hash(model, ruleset, "peak")
    assert typed.snapshot() == model


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(1e-4, 1e16, exclude_max=True)
    | st.text(st.characters(exclude_categories=["Cs"])),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(st.characters(exclude_categories=["Cs"])), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(doc=json_values)
def test_fast_canonical_bytes_are_the_standard_encoders(doc: Any) -> None:
    # Floats where orjson_floats() allows the fast path, any text, any keys.
    standard = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_bytes(doc, fast=True) == standard.encode()


@pytest.mark.parametrize("given", [(), ("reserved",), ("defective", "unpaid"), BUCKETS[1:]])
def test_stock_rows_giving_the_same_buckets_hash_as_the_model(given: tuple[str, ...]) -> None:
    # Every row gives these buckets (and on_hand), the others left out: the rows the
    # input hash writes hold every bucket.
    doc = copy.deepcopy(_demo())
    for n, row in enumerate(doc["stock"]):
        doc["stock"][n] = {"sku": row["sku"], "warehouse": row["warehouse"], "on_hand": 3}
        row = doc["stock"][n]
        for bucket in given:
            row[bucket] = n % 4
    typed = read_typed_columns(_text(doc, None))
    assert typed is not None and typed.dumped is not None
    # Buckets left out: the rows with their zeros are decoded when the hash asks.
    assert callable(typed.dumped["stock"]) == (len(given) < len(BUCKETS) - 1)
    model = parse_snapshot(doc)
    ruleset = parse_ruleset(build_demo(seed=4, skus=100)[1])
    assert columns_hash(typed, ruleset, "normal") == input_hash(model, ruleset, "normal")
    assert typed.snapshot() == model


def test_row_fields_are_in_sorted_order() -> None:
    # The input hash writes struct fields in their order, as sorted keys.
    from engine.core import typed_rows

    for row in (typed_rows.SkuRow, typed_rows.FullSkuRow, typed_rows.StockRow):
        assert list(row.__struct_fields__) == sorted(row.__struct_fields__)
    for row in (typed_rows.FullStockRow, typed_rows.VelocityRow, typed_rows.ListedRow):
        assert list(row.__struct_fields__) == sorted(row.__struct_fields__)
    assert list(typed_rows.ComponentRow.__struct_fields__) == ["qty", "sku"]


def test_stock_rows_giving_different_buckets_hash_as_the_model() -> None:
    # Some rows give a bucket, others leave it out (as the demo's do): the units of a
    # row leaving it out are 0, and the rows with their zeros are made when hashed.
    doc = copy.deepcopy(_demo())
    for n, row in enumerate(doc["stock"]):
        doc["stock"][n] = {"sku": row["sku"], "warehouse": row["warehouse"], "on_hand": 3 + n}
        if n % 3 == 0:
            doc["stock"][n]["reserved"] = 1
    typed = read_typed_columns(_text(doc, None))
    assert typed is not None and typed.dumped is not None and callable(typed.dumped["stock"])
    reserved = [1 if n % 3 == 0 else 0 for n in range(len(doc["stock"]))]
    assert typed.stock["reserved"].tolist() == reserved
    model = parse_snapshot(doc)
    ruleset = parse_ruleset(build_demo(seed=4, skus=100)[1])
    assert columns_hash(typed, ruleset, "normal") == input_hash(model, ruleset, "normal")
    assert typed.snapshot() == model
