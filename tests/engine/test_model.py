"""The snapshot of format v1: field checks, cross-references, loading and round trips."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from engine.core.errors import InputError
from engine.core.io import canonical_json, dump_json, load_snapshot, parse_snapshot, read_document
from engine.core.limits import MAX_MONEY
from engine.core.snapshot import Sku, Snapshot

Doc = dict[str, Any]


def make_doc() -> Doc:
    """Two brands, a bundle, and every section filled: each test breaks one thing."""
    return {
        "tenant": "demo",
        "as_of": "2026-11-11T00:00:00+08:00",
        "mode": "normal",
        "brands": [{"id": "b1", "name": "Brand One"}, {"id": "b2", "name": "Brand Two"}],
        "warehouses": [{"id": "wh-sh"}, {"id": "wh-def", "kind": "defect"}],
        "shops": [
            {"id": "tm-b1", "brand": "b1", "platform": "tmall", "priority": 1},
            {"id": "jd-b2", "brand": "b2", "platform": "jd", "warehouses": ["wh-sh"]},
        ],
        "skus": [
            {"id": "B1-0001", "brand": "b1", "category": "shoes", "price": "399.00"},
            {
                "id": "B1-KIT",
                "brand": "b1",
                "price": 700,
                "components": [{"sku": "B1-0001", "qty": 2}],
            },
            {"id": "B2-0001", "brand": "b2", "price": "59.90", "tags": ["new"]},
        ],
        "stock": [
            {"sku": "B1-0001", "warehouse": "wh-sh", "on_hand": 120, "reserved": 5},
            {"sku": "B2-0001", "warehouse": "wh-sh", "on_hand": 10, "pending_review": 1},
        ],
        "velocity": [{"sku": "B1-0001", "shop": "tm-b1", "units_per_day": 3.2}],
        "listed": [{"sku": "B2-0001", "shop": "jd-b2", "quantity": 4}],
    }


def issues_of(doc: Any) -> list[str]:
    with pytest.raises(InputError) as caught:
        parse_snapshot(doc)
    return [str(issue) for issue in caught.value.issues]


def test_valid_snapshot_parses_with_defaults() -> None:
    snap = parse_snapshot(make_doc())
    assert snap.as_of.utcoffset() == timedelta(hours=8)
    assert snap.skus[0].price == Decimal("399.00")
    assert snap.skus[1].price == Decimal(700) and snap.skus[1].is_bundle
    assert snap.shops[1].priority == 100 and snap.shops[0].warehouses is None
    assert [w.supplies_by_default for w in snap.warehouses] == [True, False]
    assert snap.stock[0].locked == 0


def _append(section: str, index: int) -> Callable[[Doc], None]:
    return lambda doc: doc[section].append(copy.deepcopy(doc[section][index]))


def _set(section: str, index: int, field: str, value: Any) -> Callable[[Doc], None]:
    return lambda doc: doc[section][index].__setitem__(field, value)


def _component(sku: str) -> Callable[[Doc], None]:
    return _set("skus", 1, "components", [{"sku": sku, "qty": 1}])


def _nested_bundle(doc: Doc) -> None:
    doc["skus"].append(
        {"id": "B1-BIG", "brand": "b1", "price": "1", "components": [{"sku": "B1-KIT", "qty": 1}]}
    )


CROSS_REFERENCE_CASES = [
    (_append("brands", 0), "brands[2].id: duplicate id 'b1'"),
    (_append("warehouses", 0), "warehouses[2].id: duplicate id 'wh-sh'"),
    (_append("shops", 0), "shops[2].id: duplicate id 'tm-b1'"),
    (_append("skus", 2), "skus[3].id: duplicate id 'B2-0001'"),
    (_append("stock", 0), "stock[2]: duplicate row for SKU 'B1-0001' in warehouse 'wh-sh'"),
    (_append("velocity", 0), "velocity[1]: duplicate row for SKU 'B1-0001' on shop 'tm-b1'"),
    (_append("listed", 0), "listed[1]: duplicate row for SKU 'B2-0001' on shop 'jd-b2'"),
    (_set("shops", 1, "brand", "b9"), "shops[1].brand: unknown brand 'b9'"),
    (
        _set("shops", 1, "warehouses", ["wh-sh", "wh-x"]),
        "shops[1].warehouses[1]: unknown warehouse 'wh-x'",
    ),
    (_set("skus", 0, "brand", "b9"), "skus[0].brand: unknown brand 'b9'"),
    (_set("stock", 0, "sku", "X-1"), "stock[0].sku: unknown SKU 'X-1'"),
    (_set("stock", 1, "warehouse", "wh-x"), "stock[1].warehouse: unknown warehouse 'wh-x'"),
    (_set("velocity", 0, "sku", "X-1"), "velocity[0].sku: unknown SKU 'X-1'"),
    (_set("velocity", 0, "shop", "tb-x"), "velocity[0].shop: unknown shop 'tb-x'"),
    (_set("listed", 0, "sku", "X-1"), "listed[0].sku: unknown SKU 'X-1'"),
    (_set("listed", 0, "shop", "tb-x"), "listed[0].shop: unknown shop 'tb-x'"),
    (_component("X-1"), "skus[1].components[0].sku: unknown SKU 'X-1'"),
    (_component("B1-KIT"), "skus[1].components[0].sku: bundle 'B1-KIT' lists itself"),
    (_nested_bundle, "skus[3].components[0].sku: component 'B1-KIT' is itself a bundle"),
    (_set("velocity", 0, "shop", "jd-b2"), "velocity[0].shop: shop 'jd-b2' is of brand 'b2'"),
    (_set("listed", 0, "shop", "tm-b1"), "listed[0].shop: shop 'tm-b1' is of brand 'b1'"),
]


@pytest.mark.parametrize(("mistake", "expected"), CROSS_REFERENCE_CASES)
def test_cross_reference_mistake_is_named(mistake: Callable[[Doc], None], expected: str) -> None:
    doc = make_doc()
    mistake(doc)
    issues = issues_of(doc)
    assert len(issues) == 1, issues
    assert issues[0].startswith(expected)


def test_every_mistake_is_reported_at_once() -> None:
    doc = make_doc()
    doc["stock"][0]["sku"] = "X-1"
    doc["brands"].append({"id": "b2", "name": "Again"})
    doc["listed"][0]["shop"] = "tm-b1"
    issues = issues_of(doc)
    assert len(issues) == 3, issues
    assert "stock[0].sku: unknown SKU 'X-1'" in issues


def test_field_errors_are_reported_at_once_with_paths() -> None:
    doc = make_doc()
    doc["stock"][0]["on_hand"] = 1.5
    doc["skus"][2]["price"] = 59.9
    doc["shops"][0]["platform"] = "TMall"
    doc["brands"][0]["colour"] = "red"
    paths = [issue.split(":")[0] for issue in issues_of(doc)]
    assert paths == ["brands[0].colour", "shops[0].platform", "skus[2].price", "stock[0].on_hand"]


@pytest.mark.parametrize("value", [1.5, 3.0, "3", True, -1])
def test_quantity_must_be_a_whole_number(value: Any) -> None:
    doc = make_doc()
    doc["listed"][0]["quantity"] = value
    [issue] = issues_of(doc)
    assert issue.startswith("listed[0].quantity: ")


@pytest.mark.parametrize("value", [59.9, "-1", "1e3", "", True, "NaN"])
def test_price_must_be_a_decimal_string(value: Any) -> None:
    doc = make_doc()
    doc["skus"][2]["price"] = value
    [issue] = issues_of(doc)
    assert issue.startswith("skus[2].price: money is a decimal string")


@pytest.mark.parametrize("value", [-0.1, float("nan"), float("inf"), "3.2"])
def test_velocity_must_be_finite_and_not_negative(value: Any) -> None:
    doc = make_doc()
    doc["velocity"][0]["units_per_day"] = value
    [issue] = issues_of(doc)
    assert issue.startswith("velocity[0].units_per_day: ")


@pytest.mark.parametrize("value", ["2026-11-11T00:00:00", datetime(2026, 11, 11)])
def test_naive_as_of_is_refused(value: Any) -> None:
    doc = make_doc()
    doc["as_of"] = value
    [issue] = issues_of(doc)
    assert issue.startswith("as_of: ")


def test_missing_section_and_unknown_mode() -> None:
    doc = make_doc()
    del doc["skus"]
    doc["mode"] = "double11"
    issues = issues_of(doc)
    assert issues[0].startswith("mode: ")
    assert issues[1] == "skus: required field is missing"


def test_json_and_yaml_load_to_the_same_snapshot(tmp_path: Path) -> None:
    doc = make_doc()
    (tmp_path / "s.json").write_text(json.dumps(doc), encoding="utf-8")
    (tmp_path / "s.yml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    # An unquoted YAML timestamp arrives as a datetime rather than a string.
    unquoted = yaml.safe_dump(doc).replace(
        "'2026-11-11T00:00:00+08:00'", "2026-11-11T00:00:00+08:00"
    )
    (tmp_path / "t.yaml").write_text(unquoted, encoding="utf-8")
    expected = parse_snapshot(doc)
    for name in ("s.json", "s.yml", "t.yaml"):
        assert load_snapshot(tmp_path / name) == expected


def test_duplicate_json_key_is_refused_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text('{"shops": [{"id": "a", "brand": "b1", "id": "b"}]}', encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_document(path)
    assert caught.value.source == str(path)
    assert [str(i) for i in caught.value.issues] == ["shops[0]: duplicate key 'id'"]


def test_duplicate_yaml_key_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("tenant: demo\nshops:\n  - id: a\n    id: b\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_document(path)
    assert str(caught.value.issues[0]) == "line 4, column 5: duplicate key 'id'"


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("bad.json", '{"tenant": "demo",\n  }', "line 2, column 3: "),
        ("bad.yaml", "tenant: [demo\nmode: peak\n", "line 2, column "),
        ("s.toml", "tenant = 1", "unsupported file type '.toml'"),
    ],
)
def test_unreadable_documents_name_file_and_place(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_snapshot(path)
    assert str(caught.value).startswith(str(path))
    assert str(caught.value.issues[0]).startswith(expected)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        load_snapshot(tmp_path / "absent.json")


def test_round_trip_through_plain_data_and_files(tmp_path: Path) -> None:
    snap = parse_snapshot(make_doc())
    assert parse_snapshot(snap.model_dump(mode="json")) == snap
    text = dump_json(snap, tmp_path / "out.json")
    assert text.endswith("}\n") and text.index('"tenant"') < text.index('"as_of"')
    again = load_snapshot(tmp_path / "out.json")
    assert again == snap
    assert canonical_json(again) == canonical_json(snap)


def test_canonical_json_sorts_keys_and_keeps_text() -> None:
    assert canonical_json({"b": 1, "a": ["é", Decimal("1.50")]}) == '{"a":["é","1.50"],"b":1}'


def test_snapshot_object_is_frozen_and_checked_on_construction() -> None:
    snap = parse_snapshot(make_doc())
    with pytest.raises(ValueError, match="frozen"):
        snap.tenant = "other"  # type: ignore[misc]
    doc = make_doc()
    doc["stock"][0]["sku"] = "X-1"
    with pytest.raises(InputError, match="stock\\[0\\].sku"):
        Snapshot.model_validate(doc)


# Prices are whole fen (engine/core/limits.py): two decimals at most.
@given(st.decimals(min_value=0, max_value=MAX_MONEY, places=2, allow_nan=False))
def test_price_survives_json_round_trip(price: Decimal) -> None:
    sku = Sku(id="S", brand="b1", price=format(price, "f"))
    assert Sku.model_validate(sku.model_dump(mode="json")) == sku


def test_aware_datetime_object_is_accepted() -> None:
    doc = make_doc()
    doc["as_of"] = datetime(2026, 11, 11, tzinfo=UTC)
    assert parse_snapshot(doc).as_of.tzinfo is UTC
