"""Reading a snapshot file as columns (`load_snapshot_columns`): the repeated-key proof
counted from the checked rows (`document_colons`) finds every repeat the text holds, and
a file without one reads as the same columns and input hash as the document itself."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.core.columns import (
    BUCKETS,
    columns_of_document,
    document_colons,
    snapshot_json,
)
from engine.core.errors import InputError
from engine.core.io import (
    load_snapshot_columns,
    parse_snapshot,
    parse_snapshot_columns,
    read_document,
)
from engine.demo import build_demo
from engine.planning.planner import columns_hash, input_hash
from rules.load import parse_ruleset

ROW_SECTIONS = ("skus", "stock", "velocity", "listed")


@cache
def _demo() -> dict[str, Any]:
    return build_demo(seed=4, skus=100)[0]


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    """The demo snapshot with optional fields dropped or given, and colons in names,
    categories and tags (any of which the quick checks accept)."""
    doc = copy.deepcopy(_demo())
    for sku in doc["skus"]:
        for key, empty in (("category", ""), ("tags", []), ("components", [])):
            if sku[key] == empty and draw(st.booleans()):
                del sku[key]
        if "category" in sku and draw(st.integers(0, 9)) == 0:
            sku["category"] += ":x"
        if "tags" in sku and draw(st.integers(0, 9)) == 0:
            sku["tags"] = [*sku["tags"], "a:b"]
    for row in doc["stock"]:
        if draw(st.integers(0, 3)) == 0:
            row[draw(st.sampled_from(BUCKETS))] = 0
    if draw(st.booleans()):
        doc["brands"][0]["name"] = "Brand: the first"
    return doc


def _text(doc: dict[str, Any], indent: int | None, ascii_only: bool) -> str:
    return json.dumps(doc, indent=indent, ensure_ascii=ascii_only)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=documents())
def test_counted_colons_are_those_orjson_writes(doc: dict[str, Any]) -> None:
    columns = columns_of_document(doc)
    assert columns is not None
    counted = document_colons(doc, columns)
    written = orjson.dumps(doc).count(b":")
    text_colons = [
        c for sku in doc["skus"] for c in [sku.get("category", ""), *sku.get("tags", [])]
    ]
    assert counted == (None if any(":" in c for c in text_colons) else written)


def _with_repeat(doc: dict[str, Any], section: str, row: int, key: str, value: Any) -> str:
    """The document's JSON with `key` given twice in one row, first with `value`: the
    tree parsed from it is `doc` itself (the last value is kept)."""
    marker = "@@row@@"
    held = copy.deepcopy(doc)
    original = held[section][row]
    held[section][row] = marker
    row_text = json.dumps(original, ensure_ascii=False)
    repeated = "{" + json.dumps(key) + ": " + json.dumps(value) + ", " + row_text[1:]
    return json.dumps(held, indent=2, ensure_ascii=False).replace(json.dumps(marker), repeated)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=documents(), data=st.data())
def test_a_repeated_key_in_any_row_is_named(
    tmp_path_factory: pytest.TempPathFactory, doc: dict[str, Any], data: st.DataObject
) -> None:
    section = data.draw(st.sampled_from(ROW_SECTIONS))
    row = data.draw(st.integers(0, len(doc[section]) - 1))
    key = data.draw(st.sampled_from(sorted(doc[section][row])))
    value = data.draw(st.sampled_from([0, "x", 1.5, None]))
    path = tmp_path_factory.mktemp("repeat") / "snapshot.json"
    path.write_text(_with_repeat(doc, section, row, key, value), encoding="utf-8")
    with pytest.raises(InputError) as expected:
        read_document(path)
    with pytest.raises(InputError) as got:
        load_snapshot_columns(path)
    assert str(got.value) == str(expected.value)
    assert f"duplicate key {key!r}" in str(got.value)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    doc=documents(),
    indent=st.sampled_from([None, 2]),
    ascii_only=st.booleans(),
    bom=st.booleans(),
)
def test_a_file_reads_as_its_document(
    tmp_path_factory: pytest.TempPathFactory,
    doc: dict[str, Any],
    indent: int | None,
    ascii_only: bool,
    bom: bool,
) -> None:
    # ensure_ascii escapes the demo's Chinese names: the proof by writing the tree again.
    path = tmp_path_factory.mktemp("clean") / "snapshot.json"
    path.write_text(("\ufeff" if bom else "") + _text(doc, indent, ascii_only), encoding="utf-8")
    read = load_snapshot_columns(path)
    direct = parse_snapshot_columns(copy.deepcopy(doc))
    assert read.dumped is not None
    assert snapshot_json(read) == snapshot_json(direct)
    assert read.sku_ids == direct.sku_ids
    assert (read.stock["on_hand"] == direct.stock["on_hand"]).all()


def test_a_repeat_in_a_document_the_quick_checks_refuse_is_named(tmp_path: Path) -> None:
    # An unknown field sends the document to the model; the repeat is found first.
    doc = copy.deepcopy(_demo())
    doc["stock"][0]["bin"] = "A-1"
    assert columns_of_document(doc) is None
    path = tmp_path / "snapshot.json"
    path.write_text(_with_repeat(doc, "stock", 1, "on_hand", 5), encoding="utf-8")
    with pytest.raises(InputError, match="duplicate key 'on_hand'"):
        load_snapshot_columns(path)


def test_a_document_the_quick_checks_refuse_gets_the_models_errors(tmp_path: Path) -> None:
    doc = copy.deepcopy(_demo())
    doc["stock"][3]["bin"] = "A-1"
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(InputError) as got:
        load_snapshot_columns(path)
    assert "stock[3].bin: unknown field" in str(got.value)


def test_an_unknown_section_is_left_to_the_model(tmp_path: Path) -> None:
    # A top-level key the quick checks do not know (as `history` was before its reader
    # knew it) is the model's to accept or refuse, never dropped by the columns.
    doc = copy.deepcopy(_demo())
    doc["returns"] = []
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(InputError) as got:
        load_snapshot_columns(path)
    assert "returns: unknown field" in str(got.value)


def test_a_history_section_is_never_dropped(tmp_path: Path) -> None:
    # The quick checks read history rows as columns (engine/core/history_columns.py);
    # the input hash covers the history, as the model's does.
    snapshot, rules = build_demo(seed=4, skus=100, history_days=7)
    assert snapshot["history"]
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps(snapshot), encoding="utf-8")
    read = load_snapshot_columns(path)
    ruleset = parse_ruleset(rules)
    model = parse_snapshot(snapshot)
    assert read.history is not None and read.dumped is not None and "history" in read.dumped
    without = {k: v for k, v in snapshot.items() if k != "history"}
    assert columns_hash(read, ruleset, "normal") == input_hash(model, ruleset, "normal")
    assert input_hash(model, ruleset, "normal") != input_hash(
        parse_snapshot(without), ruleset, "normal"
    )
