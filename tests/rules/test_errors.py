"""Bad rulesets: each class of error is refused with the rule and field named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from engine.core.errors import ConflictError, InputError
from rules.load import load_ruleset, parse_ruleset
from tests.helpers import plan, snapshot


def issues_of(data: object) -> list[str]:
    with pytest.raises(InputError) as caught:
        parse_ruleset(data)
    return [str(i) for i in caught.value.issues]


def test_unknown_field_names_rule_id_and_field() -> None:
    found = issues_of({"rules": [{"id": "r1", "type": "max_cap", "quantity": 3, "qty": 4}]})
    assert found == ["rules[0] (id r1).qty: unknown field"]


def test_share_out_of_range_names_shop() -> None:
    found = issues_of({"rules": [{"id": "r9", "type": "percentage", "shares": {"A": 1.5}}]})
    assert found[0].startswith("rules[0] (id r9).shares.A:")


def test_unknown_type_lists_known_types() -> None:
    found = issues_of({"rules": [{"type": "percent"}]})
    assert found[0].startswith("rules[0]: unknown rule type") and "percentage" in found[0]


def test_all_errors_at_once() -> None:
    found = issues_of(
        {
            "rules": [
                {"type": "fixed", "quantities": {"A": -1}},
                {"type": "zero_below"},
                {"type": "pack_size", "quantity": 0},
            ]
        }
    )
    assert len(found) == 3
    assert [f.split(":")[0] for f in found] == [
        "rules[0].quantities.A",
        "rules[1].threshold",
        "rules[2].quantity",
    ]


def test_contradictory_fields() -> None:
    found = issues_of(
        {"rules": [{"id": "h", "type": "promotion_hold", "shop": "A", "quantity": 1, "percent": 5}]}
    )
    assert "exactly one of quantity, percent" in found[0] and "(id h)" in found[0]


def test_window_order() -> None:
    found = issues_of(
        {
            "rules": [
                {
                    "id": "w",
                    "type": "equal_split",
                    "active_from": "2026-11-12T00:00:00+08:00",
                    "active_to": "2026-11-11T00:00:00+08:00",
                }
            ]
        }
    )
    assert "active_to must be after active_from" in found[0]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (
            {"id": "r1", "type": "percentage", "shares": {"Z": 0.5}},
            "rules[0] (id r1).shares: unknown shop 'Z'",
        ),
        (
            {"id": "r1", "type": "max_cap", "quantity": 1, "scope": {"brand": "nope"}},
            "rules[0] (id r1).scope.brand: unknown brand 'nope'",
        ),
        (
            {"id": "r1", "type": "exclude_warehouse", "warehouses": ["W9"]},
            "rules[0] (id r1).warehouses: unknown warehouse 'W9'",
        ),
        (
            {"id": "r1", "type": "bundle", "sku": "S", "components": [{"sku": "X", "qty": 1}]},
            "rules[0] (id r1).components[0].sku: unknown SKU 'X'",
        ),
        (
            {
                "id": "r1",
                "type": "campaign_window",
                "rules": ["ghost"],
                "active_to": "2027-01-01T00:00:00+08:00",
            },
            "rules[0] (id r1).rules: unknown rule id 'ghost'",
        ),
        (
            {"id": "r1", "type": "shop_capacity", "quantity": 5, "scope": {"skus": ["S"]}},
            "rules[0] (id r1).scope.skus: a shop-wide limit takes no SKU selector",
        ),
    ],
)
def test_dangling_references(rule: dict[str, object], expected: str) -> None:
    with pytest.raises(InputError) as caught:
        plan(snapshot(pools={"S": 10}), [rule])
    assert expected in [str(i) for i in caught.value.issues]


def test_duplicate_rule_ids() -> None:
    rules = [{"id": "r1", "type": "equal_split"}, {"id": "r1", "type": "max_cap", "quantity": 1}]
    with pytest.raises(InputError) as caught:
        plan(snapshot(pools={"S": 10}), rules)
    assert "rules[1] (id r1).id: duplicate rule id (first at rules[0])" in str(caught.value)


def test_floor_above_cap_names_both_rules() -> None:
    rules = [
        {"id": "fix", "type": "fixed", "quantities": {"A": 8}},
        {"id": "cap", "type": "max_cap", "quantities": {"A": 5}},
    ]
    with pytest.raises(ConflictError) as caught:
        plan(snapshot(pools={"S": 10}), rules)
    assert caught.value.conflicts[0].rules == ["cap", "fix"]
    assert caught.value.conflicts[0].skus == ["S"]


def test_capacity_below_fixed_names_shop_and_rules() -> None:
    rules = [
        {"id": "fix", "type": "fixed", "quantities": {"A": 8}},
        {"id": "room", "type": "shop_capacity", "quantities": {"A": 10}},
    ]
    with pytest.raises(ConflictError) as caught:
        plan(snapshot(pools={"S1": 10, "S2": 10}), rules)
    text = str(caught.value)
    assert "room" in text and "fix" in text and "shop A" in text


def test_yaml_ruleset_round_trips(tmp_path: Path) -> None:
    data = {
        "rules": [
            {
                "id": "r1",
                "type": "percentage",
                "scope": {"brand": "b"},
                "shares": {"A": 0.6, "B": 0.4},
            },
            {"id": "r2", "type": "safety_stock_days", "days": 3.5, "priority": 2},
            {
                "id": "r3",
                "type": "tiered_percentage",
                "tiers": [
                    {"threshold": 50, "shares": {"A": 1.0}},
                    {"shares": {"A": 0.5, "B": 0.5}},
                ],
            },
            {
                "id": "r4",
                "type": "value_budget",
                "budgets": {"A": "1000.50"},
                "scope": {"shop": ["A", "B"]},
            },
            {
                "id": "r5",
                "type": "campaign_window",
                "rules": ["r1"],
                "active_from": "2026-11-01T00:00:00+08:00",
            },
        ]
    }
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    loaded = load_ruleset(path)
    assert loaded.model_dump(mode="json", exclude_unset=True) == data


def test_rule_that_matches_nothing_is_warned() -> None:
    rules = [
        {"id": "typo", "type": "max_cap", "quantity": 1, "scope": {"category": "shoez"}},
        {"id": "split", "type": "equal_split"},
        {"id": "shadowed", "type": "equal_split", "priority": -1},
    ]
    p = plan(snapshot(pools={"S": 9}), rules)
    assert [(w.code, w.rule) for w in p.warnings] == [
        ("rule_matched_nothing", "typo"),
        ("rule_never_wins", "shadowed"),
    ]
