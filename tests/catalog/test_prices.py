"""The price policy document and the platforms' stacking data: real files in, a policy or
every issue out, each named by the promotion's position and id."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.catalog.demo import write_catalog
from engine.catalog.prices.policy import load_policy, parse_policy
from engine.catalog.prices.stacking import ORDER_KINDS, load_stacking
from engine.core.errors import InputError
from engine.demo import build_demo

WINDOW = {"start": "2026-11-01T00:00:00+08:00", "end": "2026-11-12T00:00:00+08:00"}


def issues(excinfo: pytest.ExceptionInfo[InputError]) -> list[tuple[str, str]]:
    return [(issue.path, issue.message) for issue in excinfo.value.issues]


def write_yaml(path: Path, doc: Any) -> Path:
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_the_demo_policy_loads(tmp_path: Path) -> None:
    snapshot, _ = build_demo()
    _, shops_file, policy_file = write_catalog(tmp_path, snapshot, seed=3)
    shop_ids = [shop["id"] for shop in yaml.safe_load(shops_file.read_text("utf-8"))["shops"]]
    policy = load_policy(policy_file, shop_ids)
    assert policy.margin("b2") == Decimal("0.20") and policy.margin("b1") == Decimal("0.10")
    kinds = {p.kind for p in policy.promotions}
    assert kinds == {"item_discount", "shop_coupon", "threshold", "platform_coupon"}
    assert policy.as_of == datetime.fromisoformat("2026-11-11T00:00:00+08:00")
    assert all(p.active(policy.as_of) for p in policy.promotions)


def test_every_bad_promotion_is_reported_at_once(tmp_path: Path) -> None:
    doc = {
        "promotions": [
            {"id": "ok", "shop": "tm", "kind": "item_discount", "rate": "0.85"},
            {"id": "late", "shop": "tm", "kind": "direct_cut", "amount": "5.00",
             "start": "2026-11-12T00:00:00+08:00", "end": "2026-11-11T00:00:00+08:00"},
            {"id": "odd", "shop": "tm", "kind": "bogo"},
            {"id": "far", "shop": "nowhere", "kind": "gift", "cost": "3.00"},
            {"id": "r0", "shop": "tm", "kind": "item_discount", "rate": "0"},
            {"id": "r2", "shop": "tm", "kind": "item_discount", "rate": "1.5",
             "stackable_with": ["ok", "ghost"]},
            {"id": "ok", "shop": "tm", "kind": "shop_coupon", "amount": 5.5},
            {"shop": "tm", "kind": "threshold", "steps": [{"spend": "300", "save": "50"}],
             "repeat": "yes", "colour": "red"},
        ]
    }  # fmt: skip
    with pytest.raises(InputError) as err:
        load_policy(write_yaml(tmp_path / "promotions.yaml", doc), ["tm"])
    assert err.value.source.endswith("promotions.yaml")
    assert issues(err) == [
        ("promotions[1] (id late).end",
         "end 2026-11-11 00:00:00+08:00 is not after start 2026-11-12 00:00:00+08:00, "
         "got '2026-11-11T00:00:00+08:00'"),
        ("promotions[2] (id odd).kind",
         "unknown kind 'bogo'; known: item_discount, direct_cut, shop_coupon, "
         "platform_coupon, threshold, gift"),
        ("promotions[3] (id far).shop", "unknown shop 'nowhere'"),
        ("promotions[4] (id r0).rate",
         "a rate is above 0 and at most 1 (1 = no discount), got '0'"),
        ("promotions[5] (id r2).rate",
         "a rate is above 0 and at most 1 (1 = no discount), got '1.5'"),
        ("promotions[5] (id r2).stackable_with[1]",
         "names no promotion of the document: 'ghost'"),
        ("promotions[6] (id ok).amount",
         "money is a decimal string >= 0 with at most 2 decimals, such as '399.00', got 5.5"),
        ("promotions[6] (id ok).id", "duplicate id 'ok' (first at promotions[0])"),
        ("promotions[7].colour", "unknown field"),
        ("promotions[7].id", "required field is missing"),
        ("promotions[7].repeat", "Input should be a valid boolean, got 'yes'"),
    ]  # fmt: skip


def test_threshold_steps_and_money() -> None:
    def bad(**fields: Any) -> list[tuple[str, str]]:
        promo = {"id": "t", "shop": "s", "kind": "threshold", **fields}
        with pytest.raises(InputError) as err:
            parse_policy({"promotions": [promo]})
        return issues(err)

    steps = [{"spend": "300.00", "save": "50.00"}, {"spend": "200.00", "save": "60.00"}]
    assert bad(steps=steps) == [
        ("promotions[0] (id t).steps",
         "steps rise: each spends more than the one before and saves no less"),
    ]  # fmt: skip
    assert bad(steps=[{"spend": "10.00", "save": "20.00"}]) == [
        ("promotions[0] (id t).steps", "a step saves at most what it spends")
    ]
    two = [{"spend": "100.00", "save": "5.00"}, {"spend": "200.00", "save": "15.00"}]
    assert bad(steps=two, repeat=True) == [
        (
            "promotions[0] (id t).repeat",
            "a repeating threshold (每满) has exactly one step, got True",
        )
    ]
    assert bad(steps=[]) == [
        ("promotions[0] (id t).steps", "List should have at least 1 item after validation, not 0")
    ]
    assert bad(steps=[{"spend": "0", "save": "1.001"}]) == [
        ("promotions[0] (id t).steps[0].save",
         "money is a decimal string >= 0 with at most 2 decimals, such as '399.00', "
         "got '1.001'"),
        ("promotions[0] (id t).steps[0].spend", "must be above 0, got '0'"),
    ]  # fmt: skip


def test_dates_need_an_offset_and_run_start_to_end() -> None:
    naive = {"id": "n", "shop": "s", "kind": "gift", "cost": "1.00", "start": "2026-11-01T00:00:00"}
    with pytest.raises(InputError) as err:
        parse_policy({"promotions": [naive]})
    assert issues(err)[0][0] == "promotions[0] (id n).start"
    promo = parse_policy(
        {"promotions": [{"id": "g", "shop": "s", "kind": "gift", "cost": "1.00", **WINDOW}]}
    ).promotions[0]
    assert promo.active(datetime.fromisoformat(WINDOW["start"]))
    assert not promo.active(datetime.fromisoformat(WINDOW["end"]))
    # YAML reads an unquoted timestamp with an offset as a datetime: accepted as well.
    text = (
        "promotions:\n"
        "- {id: g, shop: s, kind: gift, cost: '1.00', start: 2026-11-01 00:00:00+08:00}\n"
    )
    assert parse_policy(yaml.safe_load(text)).promotions[0].start == datetime.fromisoformat(
        WINDOW["start"]
    )


def test_margins_and_stacking_fields() -> None:
    policy = parse_policy(
        {
            "min_margin": {"brands": {"b2": "0.125"}},
            "promotions": [
                {"id": "a", "shop": "s", "kind": "shop_coupon", "amount": "5.00",
                 "stackable_with": ["b"]},
                {"id": "b", "shop": "s", "kind": "platform_coupon", "threshold": "99.00",
                 "amount": "10.00"},
            ],
        }
    )  # fmt: skip
    assert policy.margin("b2") == Decimal("0.125") and policy.margin("b1") is None
    a, b = policy.promotions
    assert a.stacks_with(b) and b.stacks_with(a) and a.covers("anything")
    with pytest.raises(InputError) as err:
        parse_policy({"min_margin": {"default": "12"}, "promotions": [], "tenant": "x"})
    assert issues(err) == [
        ("min_margin.default", "a margin is at most 10, got '12'"),
        ("tenant", "unknown field"),
    ]
    with pytest.raises(InputError) as err:
        parse_policy({"promotions": [{"id": "x", "shop": "s", "kind": "gift", "cost": "1.00",
                                      "stackable_with": "none", "skus": []}]})  # fmt: skip
    paths = [path for path, _ in issues(err)]
    assert paths == ["promotions[0] (id x).skus", "promotions[0] (id x).stackable_with"]


def test_json_file_with_a_byte_order_mark(tmp_path: Path) -> None:
    step = {"spend": "300.00", "save": "50.00"}
    doc = {"promotions": [{"id": "满减", "shop": "天猫店", "kind": "threshold",
                           "steps": [step], "cross_shop": True}]}  # fmt: skip
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8-sig")
    policy = load_policy(path, ["天猫店"])
    assert policy.promotions[0].id == "满减"
    with pytest.raises(InputError) as err:
        load_policy(tmp_path / "missing.yaml")
    assert issues(err) == [("", "file not found")]


def test_stacking_data() -> None:
    stacking = load_stacking()
    assert set(stacking.platforms) == {"tmall", "taobao", "jd", "pdd", "douyin"}
    assert stacking.of("tmall").order == ("shop_coupon", "threshold", "platform_coupon")
    assert stacking.of("jd").order == ("threshold", "shop_coupon", "platform_coupon")
    assert set(stacking.of("jd").share.values()) == {"drop"}
    assert stacking.of("tmall").share["threshold"] == "pass_on"
    for platform in stacking.platforms.values():
        assert sorted(platform.order) == sorted(ORDER_KINDS)
    with pytest.raises(InputError) as err:
        stacking.of("ebay")
    assert "no stacking order for 'ebay'" in issues(err)[0][1]


def test_a_broken_stacking_file_is_refused(tmp_path: Path) -> None:
    doc = {"platforms": {"x": {"order": ["shop_coupon", "shop_coupon"],
                               "share": {"shop_coupon": "keep"}}}}  # fmt: skip
    with pytest.raises(InputError) as err:
        load_stacking(write_yaml(tmp_path / "stacking.yaml", doc))
    assert [path for path, _ in issues(err)] == ["platforms.x.share.shop_coupon"]
    doc = {"platforms": {"x": {"order": ["shop_coupon", "threshold"],
                               "share": {"shop_coupon": "drop"}}}}  # fmt: skip
    with pytest.raises(InputError) as err:
        load_stacking(write_yaml(tmp_path / "stacking.yaml", doc))
    assert "exactly once" in issues(err)[0][1]
